#!/bin/sh
# test-deps.sh — installs what `make test` needs beyond the build: curl
# (the README's examples are run as written). Debian's packages, as root.
set -eu
missing=""
command -v curl >/dev/null 2>&1 || missing="$missing curl"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "test-deps: missing:$missing (run as root, or apt-get install$missing)" >&2
    exit 1
fi
echo "test-deps: installing$missing"
apt-get install -y -qq $missing >/dev/null
