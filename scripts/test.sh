#!/usr/bin/env bash
# Runs every test: the C++ unit tests (GoogleTest through ctest), the fuzz
# targets (a short run of each, then every saved finding replayed) and the
# Python, CLI and end-to-end tests (pytest, on the real exporters and ONNX
# Runtime). Sets the machine up first (scripts/setup.sh). Ends with a table
# of where the time went, so that the next slowdown shows in every run.
# FUZZ_SECONDS (default 60) is how long each fuzz target runs (two side by
# side); 0 skips the fuzzing but not the replay of saved findings.
set -euo pipefail
cd "$(dirname "$0")/.."

phases=()
phase_start=$(date +%s)
# Records how long the phase that just ended took.
phase_done() {
  local now
  now=$(date +%s)
  phases+=("$1 $((now - phase_start))")
  phase_start=$now
}
print_timing() {
  local row total=0
  echo
  echo "test.sh: where the time went"
  for row in "${phases[@]}"; do
    printf '  %-8s %5d s\n' "${row% *}" "${row##* }"
    total=$((total + ${row##* }))
  done
  printf '  %-8s %5d s\n' total "$total"
}

bash scripts/setup.sh
phase_done setup
source scripts/build_env.sh

cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DMODELCUT_BUILD_TESTS=ON >/dev/null
cmake --build build/cpp
phase_done build
ctest --test-dir build/cpp --output-on-failure -j 2
phase_done ctest

# A finding fails the run, but only after pytest has run too, so that one
# run shows everything that is wrong. The seed is fixed so that a run fails
# for the code it tests, not for the mutations it drew; scripts/fuzz.sh
# without one explores further (see the README's Fuzzing section).
fuzz_seconds="${FUZZ_SECONDS:-60}"
fuzz_status=0
if [ "$fuzz_seconds" -gt 0 ]; then
  bash scripts/fuzz.sh --stop-on-crash --seed 1 --jobs 2 --time "$fuzz_seconds" || fuzz_status=1
else
  bash scripts/fuzz.sh --build-only
fi
bash scripts/fuzz.sh --regressions || fuzz_status=1
phase_done fuzz

# pytest exits 5 when it collects no test: that is a failure here too.
# --durations lists the slowest tests, to see where CI's time goes.
mkdir -p build
pytest_status=0
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 "$@" 2>&1 | tee build/pytest.log \
  || pytest_status=${PIPESTATUS[0]}
phase_done pytest
print_timing
# pytest's summary line again, so that the run still ends with the counts.
grep -E '^(=+ )?[0-9]+ (passed|failed|error)|no tests ran' build/pytest.log | tail -n 1 || true
if [ "$fuzz_status" -ne 0 ]; then
  echo "test.sh: FAILED: the fuzz targets found a crash, hang or out-of-memory input (see 'fuzz' lines above)" >&2
  exit 1
fi
exit "$pytest_status"
