#!/bin/sh
# layers.sh — the architecture's rules, checked over the sources (README,
# Architecture): what each layer of service/ may include, a first line
# saying what each file is for, and no file over 500 lines.
#
#   sh tests/arch/layers.sh        (from the top of the tree; make test runs it)
#
# A project header is included by layer ("core/state.h"); a system header
# is named by its library: event2/ is libevent, openssl/ OpenSSL, gsl/ GSL,
# "abstat/stats.h" the statistics library, jansson.h, sqlite3.h and
# libpq-fe.h their own; every other <header> is the C library or POSIX.
cd "$(dirname "$0")/../.." || exit 2

# LAYER: the project layers and libraries it may use. Lower layers never
# reach up: the domain (core) knows no transport, no JSON and no database.
allowed() {
    case $1 in
    stats)  echo "libc gsl" ;;
    base)   echo "libc" ;;
    core)   echo "libc base stats" ;;
    json)   echo "libc base core stats jansson" ;;
    store)  echo "libc base core stats sqlite3 libpq" ;;
    http)   echo "libc base json jansson libevent openssl" ;;
    engine) echo "libc base core stats json store http jansson libevent openssl" ;;
    api)    echo "libc base core stats json store http engine jansson libevent" ;;
    daemon) echo "libc base core stats json store http engine api jansson libevent openssl sqlite3 libpq" ;;
    cli)    echo "libc base core stats json store http jansson" ;;
    *)      echo "" ;;
    esac
}

# What an #include line names: a layer, a library, or the C library.
kind() {
    case $1 in
    '"abstat/'*)             echo stats ;;
    '"'*/*'"')               echo "${1#\"}" | cut -d/ -f1 ;;
    '"'*)                    echo local ;;
    '<event2/'*)             echo libevent ;;
    '<openssl/'*)            echo openssl ;;
    '<gsl/'*)                echo gsl ;;
    '<jansson.h>')           echo jansson ;;
    '<sqlite3.h>')           echo sqlite3 ;;
    '<libpq-fe.h>')          echo libpq ;;
    *)                       echo libc ;;
    esac
}

passed=0; failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

for f in stats/*.c stats/*.h include/abstat/*.h service/*/*.c service/*/*.h; do
    [ -f "$f" ] || continue
    case $f in
    stats/*|include/*) layer=stats ;;
    *) layer=$(echo "$f" | cut -d/ -f2) ;;
    esac
    ok=$(allowed "$layer")
    if [ -z "$ok" ]; then fail "$f: service/$layer is not a layer (README, Architecture)"; continue; fi
    bad=0
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$f"); do
        k=$(kind "$inc")
        case $k in
        local) [ "$layer" = stats ] && continue  # stats/ is one flat library
               fail "$f: includes $inc without its layer (write \"LAYER/name.h\")"; bad=1; continue ;;
        "$layer") continue ;;
        esac
        case " $ok " in
        *" $k "*) ;;
        *) fail "$f: $layer may not include $inc ($k)"; bad=1 ;;
        esac
    done
    [ $bad -eq 0 ] && passed=$((passed + 1))
    n=$(wc -l < "$f")
    if [ "$n" -gt 500 ]; then fail "$f: $n lines (at most 500: split it by concern)"
    else passed=$((passed + 1)); fi
    if head -n 1 "$f" | grep -Eq '^/\* ([a-z]+/)?[a-z_0-9]+\.[ch] — .'; then passed=$((passed + 1))
    else fail "$f: the first line must say what the file is for (/* name.c — ... */)"; fi
done

echo "layers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
