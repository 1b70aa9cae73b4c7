#!/bin/sh
# configure.sh — finds the libraries abstat builds on and, on a Debian machine
# where one is missing, installs it (as root, with apt-get) and says so.
# Prints the make variables PKG_CFLAGS and PKG_LIBS on standard output.
set -eu

modules="gsl libevent libevent_pthreads libevent_openssl openssl jansson sqlite3 libpq"
# Debian package that provides each pkg-config module.
pkg_of() {
    case "$1" in
        gsl) echo libgsl-dev ;;
        libevent|libevent_pthreads|libevent_openssl) echo libevent-dev ;;
        openssl) echo libssl-dev ;;
        jansson) echo libjansson-dev ;;
        sqlite3) echo libsqlite3-dev ;;
        libpq) echo libpq-dev ;;
    esac
}

missing=""
if ! command -v pkg-config >/dev/null 2>&1; then
    missing="pkg-config"
    for m in $modules; do missing="$missing $(pkg_of "$m")"; done
else
    for m in $modules; do
        pkg-config --exists "$m" || missing="$missing $(pkg_of "$m")"
    done
fi
# Chart.js draws the dashboard's charts (SPEC section 10): Debian's
# libjs-chart.js, whose minified file is embedded into abstatd at build
# time (Makefile CHARTJS), so nothing is fetched at build or run time.
chartjs=/usr/share/javascript/chart.js/chart.min.js
[ -f "$chartjs" ] || missing="$missing libjs-chart.js"
# The PostgreSQL server: the store tests start a private one (tests/lib/pg.c)
# to run the PostgreSQL backend (SPEC section 11) against.
pg_server=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && pg_server=$d; done
command -v initdb >/dev/null 2>&1 && pg_server=$(command -v initdb)
[ -n "$pg_server" ] || missing="$missing postgresql"
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')

if [ -n "${missing% }" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "configure: missing packages: $missing" >&2
        echo "configure: install them (Debian: apt-get install $missing) and run make again" >&2
        exit 1
    fi
    echo "configure: installing missing packages with apt-get: $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || { echo "configure: apt-get update failed" >&2; exit 1; }
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >&2 || { echo "configure: apt-get install failed" >&2; exit 1; }
    echo "configure: installed $missing" >&2
fi

echo "PKG_CFLAGS := $(pkg-config --cflags $modules)"
echo "PKG_LIBS := $(pkg-config --libs $modules)"
echo "CHARTJS := $chartjs"
