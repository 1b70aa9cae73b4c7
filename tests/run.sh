#!/bin/sh
# run.sh — runs each test binary given, then prints the overall count line.
# Every test prints "NAME: P passed, F failed" as its last line.
passed=0; failed=0; broken=""
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -v '^ok ' 
    line=$(printf '%s\n' "$out" | grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
    p=$(printf '%s' "$line" | sed -E 's/^[^:]*: ([0-9]+) passed.*/\1/')
    f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    [ -n "$p" ] || p=0
    [ -n "$f" ] || f=0
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$rc" -ne 0 ] && broken="$broken $(basename "$t")"
    passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
if [ -n "$broken" ]; then echo "failing:$broken"; exit 1; fi
[ "$failed" -eq 0 ]
