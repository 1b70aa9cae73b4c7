#!/bin/sh
# run.sh — builds the libFuzzer harnesses with clang and runs each for SECONDS seconds (`make fuzz`).
#
#   sh tests/fuzz/run.sh [SECONDS]      (default 60; run from anywhere)
#
# Builds build/fuzz/fuzz_{events,experiment,analyze} from the service and
# stats sources directly (the Makefile builds with gcc, which has no
# libFuzzer). Each harness runs on a scratch copy of its corpus under
# build/fuzz/corpus/, so tests/fuzz/corpus/ only grows when someone copies
# a find into it on purpose. Prints the executions per harness; exits 1 when
# any harness crashed, leaked or timed out (the crash file is named in the
# output and kept under build/fuzz/artifacts/), 2 when it could not build.
set -u

cd "$(dirname "$0")/../.." || exit 2
seconds=${1:-60}
# libFuzzer reads -max_total_time=0 as "forever": at least one second.
case $seconds in
    ''|*[!0-9]*|0|0*) echo "usage: sh tests/fuzz/run.sh [SECONDS]  (SECONDS >= 1)" >&2; exit 2 ;;
esac

harnesses="fuzz_events fuzz_experiment fuzz_analyze"
out=build/fuzz
# What the harnesses reach: the parsers, the analysis and the statistics.
# Nothing that needs libevent or SQLite, so one link line fits all three.
service="arena error utf8 event_parse event_scan event_json event event_schema timefmt experiment
         experiment_json experiment_render defaults jsonin phase analysis cuped_compare analyze_json
         sample_size_json jsonout variants_json cuped_json verdict webhook_url journey_bounds
         journey_json revenue_cap revenue_cap_json"

# ---- the compiler ---------------------------------------------------------

# Whether clang can build and link a libFuzzer binary with the sanitizers.
fuzzer_links() {
    command -v clang >/dev/null 2>&1 || return 1
    mkdir -p "$out" || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
        'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' \
        > "$out/probe.c"
    clang -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" >/dev/null 2>&1
}

if ! fuzzer_links; then
    # Debian 12: clang is clang-14; its libFuzzer and sanitizer runtimes
    # are in libclang-rt-14-dev.
    pkgs="clang libclang-rt-14-dev"
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "fuzz: clang with libFuzzer is missing; install it (Debian: apt-get install $pkgs)" >&2
        exit 2
    fi
    echo "fuzz: installing clang and its libFuzzer runtime with apt-get: $pkgs" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || { echo "fuzz: apt-get update failed" >&2; exit 2; }
    # shellcheck disable=SC2086
    apt-get install -y -qq $pkgs >&2 || { echo "fuzz: apt-get install failed" >&2; exit 2; }
    echo "fuzz: installed $pkgs" >&2
    fuzzer_links || { echo "fuzz: clang still cannot link -fsanitize=fuzzer" >&2; exit 2; }
fi
echo "fuzz: $(clang --version | head -n 1)"

# The libraries (configure.sh installs missing -dev packages and says so).
sh scripts/configure.sh >/dev/null || exit 2
pkg_cflags=$(pkg-config --cflags gsl jansson) || exit 2
pkg_libs=$(pkg-config --libs gsl jansson) || exit 2

# ---- build ------------------------------------------------------------------

cflags="-std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Iservice -Wall -Wextra
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -fno-omit-frame-pointer $pkg_cflags"
mkdir -p "$out/obj" || exit 2
objs=""
for src in $(for s in $service; do echo service/*/"$s".c; done) stats/*.c; do
    obj="$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
    # shellcheck disable=SC2086
    clang $cflags -c "$src" -o "$obj" || { echo "fuzz: compiling $src failed" >&2; exit 2; }
    objs="$objs $obj"
done
for h in $harnesses; do
    # shellcheck disable=SC2086
    clang $cflags "tests/fuzz/$h.c" $objs $pkg_libs -o "$out/$h" ||
        { echo "fuzz: building $h failed" >&2; exit 2; }
done
echo "fuzz: built$(for h in $harnesses; do printf ' %s' "$out/$h"; done)"

# ---- run ----------------------------------------------------------------------

# Leaks count as failures (ASan's default on Linux, said out loud); UBSan
# stops at the first report (-fno-sanitize-recover) with a stack.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

failed=""
total=0
for h in $harnesses; do
    corpus="$out/corpus/$h"
    artifacts="$out/artifacts/$h/"
    log="$out/$h.log"
    mkdir -p "$corpus" "$artifacts" || exit 2
    # The committed seeds join whatever earlier runs found.
    if [ -d "tests/fuzz/corpus/$h" ]; then cp -p "tests/fuzz/corpus/$h"/* "$corpus"/ 2>/dev/null; fi
    dict=""
    [ -f "tests/fuzz/$h.dict" ] && dict="-dict=tests/fuzz/$h.dict"
    echo "fuzz: $h for ${seconds}s (log $log)"
    # shellcheck disable=SC2086
    "$out/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts" $dict "$corpus" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=0
    total=$((total + execs))
    if [ "$rc" -ne 0 ]; then
        failed="$failed $h"
        echo "fuzz: $h FAILED (exit $rc) after $execs executions:"
        grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|deadly signal|Test unit written to|ALARM|out-of-memory' \
            "$log" | head -n 20 | sed 's/^/  /'
        # Where it happened: the first frames in our own sources.
        grep -E '^ +#[0-9]+ .*/(tests/fuzz|service/[a-z]+|stats)/[a-z_]+\.c' "$log" | head -n 3 | sed 's/^ */  /'
    else
        echo "fuzz: $h ok, $execs executions"
    fi
done
echo "fuzz: $total executions in all"
if [ -n "$failed" ]; then
    echo "fuzz: failing:$failed (crash inputs under $out/artifacts/; logs $out/*.log)"
    exit 1
fi
exit 0
