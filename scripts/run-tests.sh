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
  # XCTest: "Test Case 'X' started" / "Test Case 'X' passed"; Swift Testing: "◇ Test x() started." /
  # "✔ Test x() passed" / "✘ Test x() failed" / "➜ Test x() skipped" (a parameterized test's
  # cases print no end of their own: left out). A name is open when its last line was a start.
  awk '
    /^Test Case .* started/ { n = $0; sub(/^Test Case .?/, "", n); sub(/.? started.*/, "", n); open[n] = 1 }
    /^Test Case .* (passed|failed|skipped)/ { n = $0; sub(/^Test Case .?/, "", n); sub(/.? (passed|failed|skipped).*/, "", n); open[n] = 0 }
    /^[^ ]+ Test case passing/ { next }
    /^[^ ]+ Test .* started\.$/ && !/Test run started/ { n = $0; sub(/^[^ ]+ Test /, "", n); sub(/ started\.$/, "", n); open[n] = 1 }
    /^[^ ]+ Test .* (passed|failed|skipped)/ && !/Test run with/ { n = $0; sub(/^[^ ]+ Test /, "", n); sub(/ (passed|failed|skipped).*/, "", n); sub(/ with [0-9]+ (test )?cases?$/, "", n); open[n] = 0 }
    END { for (n in open) if (open[n]) print "   " n }
  ' "$log"
  echo "== failures:"
  grep -E "error: |: error -|failed \(|recorded an issue|Fatal error|Precondition failed" "$log" | tail -40 || true
fi
exit "$status"
