#!/bin/sh
# cycles.sh — no call cycle between source files, and nothing in the
# service library needs a program's main file, read off the objects'
# symbols (nm): file A depends on file B when A uses a symbol B defines.
#
#   ABSTAT_OBJ=build sh tests/arch/cycles.sh     (make test runs it)
cd "$(dirname "$0")/../.." || exit 2
obj=${ABSTAT_OBJ:-build}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

passed=0; failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

objects=$(ls "$obj"/service/*/*.o "$obj"/stats/*.o 2>/dev/null)
if [ -z "$objects" ]; then echo "FAIL no objects under $obj/service (build first)"; echo "cycles: 0 passed, 1 failed"; exit 1; fi

# defs: "symbol file"; uses: "file symbol" (file = source path without .o)
for o in $objects; do
    f=${o#"$obj"/}; f=${f%.o}
    [ -f "$f.c" ] || continue   # left over from a source that is gone
    nm -P --defined-only "$o" | awk -v f="$f" '$2 ~ /^[TDBRCVW]$/ { print $1, f }' >> "$tmp/defs"
    nm -P --undefined-only "$o" | awk -v f="$f" '{ print f, $1 }' >> "$tmp/uses"
done
sort -u "$tmp/defs" > "$tmp/defs.s"
sort -k2,2 "$tmp/uses" > "$tmp/uses.s"
# edges "A B": A uses what B defines
join -1 2 -2 1 "$tmp/uses.s" "$tmp/defs.s" | awk '$2 != $3 { print $2, $3 }' | sort -u > "$tmp/edges"

# The library links without the programs: no edge into a main file.
if grep -E ' service/[a-z]+/main_[a-z]+$' "$tmp/edges" > "$tmp/intomain"; then
    while read -r a b; do fail "$a calls into $b: the service library must link without a main"; done < "$tmp/intomain"
else passed=$((passed + 1)); fi

# A cycle: tsort names the files of each loop it finds on standard error.
if tsort "$tmp/edges" > /dev/null 2> "$tmp/loops"; then passed=$((passed + 1))
else
    fail "call cycle between files:"
    grep -v 'input contains a loop' "$tmp/loops" | sed 's/^tsort: /    /'
fi
echo "cycles: $(wc -l < "$tmp/edges") file dependencies"
echo "cycles: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
