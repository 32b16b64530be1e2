#!/usr/bin/env bash
# Runs every test: the C++ unit tests (GoogleTest through ctest), the fuzz
# targets (a short run of each, then every saved finding replayed) and the
# Python, CLI and end-to-end tests (pytest, on the real exporters and ONNX
# Runtime). Sets the machine up first (scripts/setup.sh).
# FUZZ_SECONDS (default 60) is how long each fuzz target runs; 0 skips the
# fuzzing but not the replay of saved findings.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DMODELCUT_BUILD_TESTS=ON >/dev/null
cmake --build build/cpp
ctest --test-dir build/cpp --output-on-failure -j 2

# A finding fails the run, but only after pytest has run too, so that one
# run shows everything that is wrong. The seed is fixed so that a run fails
# for the code it tests, not for the mutations it drew; scripts/fuzz.sh
# without one explores further (see the README's Fuzzing section).
fuzz_seconds="${FUZZ_SECONDS:-60}"
fuzz_status=0
if [ "$fuzz_seconds" -gt 0 ]; then
  bash scripts/fuzz.sh --stop-on-crash --seed 1 --time "$fuzz_seconds" || fuzz_status=1
else
  bash scripts/fuzz.sh --build-only
fi
bash scripts/fuzz.sh --regressions || fuzz_status=1

# pytest exits 5 when it collects no test: that is a failure here too.
# --durations lists the slowest tests, to see where CI's time goes.
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 "$@"
if [ "$fuzz_status" -ne 0 ]; then
  echo "test.sh: FAILED: the fuzz targets found a crash, hang or out-of-memory input (see 'fuzz' lines above)" >&2
  exit 1
fi
