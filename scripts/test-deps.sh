#!/bin/sh
# test-deps.sh — installs what `make test` needs beyond the build: curl
# (the README's examples are run as written), groff and man (the man
# pages are checked), chromium (abstat.js runs in a real browser,
# tests/integration/test_browser.c). Debian's packages, as root.
set -eu
missing=""
command -v curl >/dev/null 2>&1 || missing="$missing curl"
# groff and man check the man pages (tests/integration/test_install.c).
command -v groff >/dev/null 2>&1 || missing="$missing groff-base"
command -v man >/dev/null 2>&1 || missing="$missing man-db"
# Without root, test_browser skips with a message instead: chromium alone
# is never a reason to stop here.
if [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null 2>&1 &&
   ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then
    missing="$missing chromium"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "test-deps: missing:$missing (run as root, or apt-get install$missing)" >&2
    exit 1
fi
echo "test-deps: installing$missing"
# A fresh image has no package lists yet: fetch them once and try again.
apt-get install -y -qq $missing >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null; }
