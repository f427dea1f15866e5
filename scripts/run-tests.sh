#!/usr/bin/env bash
# Runs `swift test` with the given arguments and keeps its output. When the run fails
# (a failed assertion, or a crash that ends the test process), it prints at the end
# which test cases started and never finished, and the failures, so that the tail
# of a CI log names the test to look at.
set -uo pipefail

swift=${SWIFT:-swift}
log=$(mktemp /tmp/tessera-swift-test.XXXXXX)
trap 'rm -f "$log"' EXIT

"$swift" test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo
  echo "== swift test exited with status $status"
  echo "== test cases that started and did not finish (a crash ends the process inside them):"
  awk '
    /^Test Case .* started/ { name = $0; sub(/^Test Case .?/, "", name); sub(/.? started.*/, "", name); open[name] = 1 }
    /^Test Case .* (passed|failed|skipped)/ { name = $0; sub(/^Test Case .?/, "", name); sub(/.? (passed|failed|skipped).*/, "", name); delete open[name] }
    END { for (n in open) print "   " n }
  ' "$log"
  echo "== failures:"
  grep -E "error: |: error -|failed \(|Fatal error|Precondition failed" "$log" | tail -40 || true
fi
exit "$status"
