#!/usr/bin/env bash
# Builds the fuzzers (libFuzzer, with AddressSanitizer) over TesseraCore's sources and
# runs each for a bounded time on its corpus in fuzz/corpus/<name>. A crash leaves its
# input in fuzz/crashes/ and fails the run: add that input to the corpus and a
# regression test, and fix the cause.
#
#   bash fuzz/run.sh [seconds per fuzzer, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
out=.build/fuzz
mkdir -p "$out" fuzz/crashes
core=$(find Sources/TesseraCore -name '*.swift' | sort)
status=0
for name in line-protocol json-points; do
    case $name in
        line-protocol) entry=fuzz/LineProtocolFuzzer.swift ;;
        json-points) entry=fuzz/JSONPointsFuzzer.swift ;;
    esac
    echo "fuzz: building $name"
    # shellcheck disable=SC2086
    if ! swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name TesseraFuzz -package-name tessera \
        -enable-upcoming-feature ExistentialAny $core fuzz/EdgeInvariants.swift "$entry" -o "$out/$name" > "$out/$name.build.log" 2>&1; then
        grep -v 'ld.gold: warning' "$out/$name.build.log" >&2
        exit 1
    fi
    # A scratch copy of the corpus takes what libFuzzer finds; the repo's corpus stays as committed.
    work=$(mktemp -d /tmp/tessera-fuzz-$name.XXXXXX)
    cp -r "fuzz/corpus/$name/." "$work/"
    echo "fuzz: running $name for ${seconds}s"
    if ! "$out/$name" "$work" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="fuzz/crashes/$name-" -print_final_stats=1 2>&1 | tail -n 25; then
        status=1
    fi
    rm -rf "$work"
done
exit $status
