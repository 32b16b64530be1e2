#!/usr/bin/env bash
# Runs every test: the lint gate (scripts/lint.sh), the C++ unit tests
# (GoogleTest through ctest), the fuzz targets (a short run of each, then
# every saved finding replayed) and the Python, CLI and end-to-end tests
# (pytest, two processes side by side, on the real exporters and ONNX
# Runtime). Sets the machine up first (scripts/setup.sh). Ends with a table
# of where the time went, so that the next slowdown shows in every run.
#
#   scripts/test.sh [--quick] [PYTEST ARGS...]
#
# --quick is the developer's loop: the lint gate, the C++ unit tests and
# the Python tests not marked slow (pytest -m "not slow"), no fuzzing.
# FUZZ_SECONDS (default 90) is the wall-clock budget of the fuzzing, shared
# by all targets (two side by side); 0 skips the fuzzing but not the replay
# of saved findings. PYTEST_WORKERS (default 2) is pytest-xdist's -n.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
if [ "${1:-}" = --quick ]; then
  quick=1
  shift
fi

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

bash scripts/setup.sh --packages-only
phase_done setup
# The gate: formatting and lint findings stop the run before anything is
# compiled (scripts/lint.sh --fix repairs most of them).
bash scripts/lint.sh
phase_done lint

# setup.sh builds and installs the package (unless these sources are
# installed already); build/cpp is the plain CMake build of the library,
# the native command and the unit tests.
bash scripts/setup.sh
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
fuzz_status=0
if [ "$quick" -eq 0 ]; then
  fuzz_budget="${FUZZ_SECONDS:-90}"
  if [ "$fuzz_budget" -gt 0 ]; then
    targets=$(bash scripts/fuzz.sh --list | wc -l)
    per_target=$(( (fuzz_budget * 2 + targets - 1) / targets ))
    bash scripts/fuzz.sh --stop-on-crash --seed 1 --jobs 2 --time "$per_target" || fuzz_status=1
  else
    bash scripts/fuzz.sh --build-only
  fi
  bash scripts/fuzz.sh --regressions || fuzz_status=1
  phase_done fuzz
fi

# pytest exits 5 when it collects no test: that is a failure here too.
# --durations lists the slowest tests, and build/pytest.xml every test's
# time, to see where CI's time goes.
mkdir -p build
pytest_args=(-q -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" --dist loadgroup
             --durations=25 --junitxml=build/pytest.xml)
[ "$quick" -eq 0 ] || pytest_args+=(-m "not slow")
pytest_status=0
.venv/bin/python -m pytest "${pytest_args[@]}" "$@" 2>&1 | tee build/pytest.log \
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
