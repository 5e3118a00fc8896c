#!/usr/bin/env bash
# The README's test command: build in Release and run every test (slow end-to-end ones included).
# Prints a closing "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
log=$(mktemp)
# --blame: if the test host dies (a native crash), the log names the test that was running.
dotnet test BertLab.slnx -c Release --blame "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "$passed passed, $failed failed, $skipped skipped"
exit $rc
