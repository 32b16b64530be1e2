#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, in
# build/fuzz) and fuzzes each for a while, or replays every saved crash once.
#
#   scripts/fuzz.sh [--time SECONDS] [--jobs N] [--seed N] [--stop-on-crash] [TARGET...]
#       Fuzz each target (default: all of fuzz_onnx, fuzz_pb, fuzz_keras,
#       fuzz_h5, fuzz_profile, fuzz_options; short names onnx, pb, keras,
#       h5, profile, options)
#       for SECONDS (default 60), N targets side by side (default 1: one
#       after the other), each starting from its seed corpus. New crashes, hangs and out-of-memory inputs are copied
#       to tests/fuzz/regressions/<target>/.
#       Without --stop-on-crash the run goes on after a finding (libFuzzer's
#       fork mode), to collect every kind of failure in one long run.
#       --seed N fixes libFuzzer's random seed (CI does, so that its short
#       run does the same mutations each time); by default each run differs.
#   scripts/fuzz.sh --regressions [TARGET...]
#       Run every file in tests/fuzz/regressions/<target>/ once; any failure
#       fails the script.
#   scripts/fuzz.sh --build-only
#   scripts/fuzz.sh --list      (the targets, one per line)
#
# Limits that make a finding: a single input running over TIMEOUT seconds
# (default 10), or over RSS_LIMIT_MB of memory in use (default 2048). A
# single allocation is not limited by default (MALLOC_LIMIT_MB sets one):
# libhdf5 asks for buffers sized by the damaged file before it checks them,
# and when such a request cannot be met malloc returns NULL, libhdf5 reports
# an error and modelcut exits 2, as it does outside the fuzzer. What must
# never happen, memory really used, is what the RSS limit bounds. Requests
# over 4 GB get NULL here (max_allocation_size_mb), since AddressSanitizer
# would otherwise back them with shadow memory that counts against the RSS
# limit although the tool never touches the request itself. What a run found and covered is
# printed per target, then one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(fuzz_onnx fuzz_pb fuzz_keras fuzz_h5 fuzz_profile fuzz_options)
seconds=60
jobs=1
mode=fuzz
stop_on_crash=0
seed=()
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --jobs=*) jobs="${1#--jobs=}"; shift ;;
    --time=*) seconds="${1#--time=}"; shift ;;
    --seed) seed=(-seed="$2"); shift 2 ;;
    --stop-on-crash) stop_on_crash=1; shift ;;
    --regressions) mode=regressions; shift ;;
    --build-only) mode=build; shift ;;
    --list) printf '%s\n' "${ALL_TARGETS[@]}"; exit 0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    fuzz_onnx|fuzz_pb|fuzz_keras|fuzz_h5|fuzz_profile|fuzz_options) targets+=("$1"); shift ;;
    onnx|pb|keras|h5|profile|options) targets+=("fuzz_$1"); shift ;;
    *) echo "fuzz.sh: unknown argument '$1' (targets: ${ALL_TARGETS[*]})" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
timeout_seconds="${TIMEOUT:-10}"
rss_limit_mb="${RSS_LIMIT_MB:-2048}"
malloc_limit_mb="${MALLOC_LIMIT_MB:-1073741824}"

build="${FUZZ_BUILD:-build/fuzz}"  # another folder for a second build beside it
source scripts/build_env.sh
# -O1 keeps builds quick and stacks readable; the fuzzers are still fast.
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DMODELCUT_FUZZ=ON -DMODELCUT_BUILD_EXAMPLES=OFF \
  -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g" >/dev/null
cmake --build "$build" --target "${targets[@]}"
[ "$mode" != build ] || exit 0

# Scratch folders of fuzzer processes that died (sanitizers end a process
# without its exit handlers): /dev/shm/modelcut-fuzz-<pid>.
clean_scratch() {
  local folder pid
  for folder in /dev/shm/modelcut-fuzz-* "${TMPDIR:-/tmp}"/modelcut-fuzz-*; do
    [ -d "$folder" ] || continue
    pid="${folder##*-}"
    kill -0 "$pid" 2>/dev/null || rm -rf "$folder"
  done
}
trap clean_scratch EXIT

# abort_on_error: a sanitizer report ends the process with SIGABRT, which
# libFuzzer records as a crash. Leak detection stays on (libFuzzer checks
# each input that allocates more than it frees), except for leaks inside
# libhdf5, which leaks in its own error paths on damaged files
# (tests/fuzz/lsan.supp says which); its free lists and caches are global
# state that stays reachable, so they are not reported. DETECT_LEAKS=0
# turns it off.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:allocator_may_return_null=1:max_allocation_size_mb=4096}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
limits=(-timeout="$timeout_seconds" -rss_limit_mb="$rss_limit_mb" -malloc_limit_mb="$malloc_limit_mb" -detect_leaks="${DETECT_LEAKS:-1}")

if [ "$mode" = regressions ]; then
  ran=0 failed=0
  for target in "${targets[@]}"; do
    folder=tests/fuzz/regressions/$target
    [ -d "$folder" ] || continue
    while IFS= read -r -d '' input; do
      ran=$((ran + 1))
      log="$build/regression.log"
      if "$build/$target" "${limits[@]}" -runs=1 "$input" >"$log" 2>&1; then
        echo "PASS $target $input"
      else
        failed=$((failed + 1))
        echo "FAIL $target $input"
        grep -m1 -E 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error|uncaught exception|fuzz: ' "$log" \
          | sed 's/^/    /' || tail -n 3 "$log" | sed 's/^/    /'
      fi
    done < <(find "$folder" -type f ! -name '*.txt' ! -name '.*' -print0 | sort -z)
  done
  echo "fuzz regressions: $ran inputs replayed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
fi

# One target's run; its report goes to $work/report, and $work/failed
# exists when it found something. Run in the background, JOBS at a time.
fuzz_target() {
  local target="$1"
  local work="$build/work/$target"
  mkdir -p "$work/corpus" "$work/findings"
  rm -f "$work/failed" "$work/report"
  local dict=() keep_going=()
  [ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")
  [ "$stop_on_crash" -eq 1 ] || keep_going=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  local log="$work/fuzz.log"
  touch "$log.start"
  local status=0
  "$build/$target" "${limits[@]}" "${dict[@]}" "${keep_going[@]}" "${seed[@]}" -max_total_time="$seconds" \
    -print_final_stats=1 -artifact_prefix="$work/findings/" "$work/corpus" "tests/fuzz/corpus/$target" \
    >"$log" 2>&1 || status=$?

  # Executions and coverage from libFuzzer's last status line ("#N ... cov: C ft: F").
  local last executions cov ft
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  executions=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  [ -n "$executions" ] || executions=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo "?")
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo "?")

  # New findings: crash-*, timeout-*, oom-*, leak-*, slow-unit-* files.
  local new=() finding crashes=0 timeouts=0 ooms=0
  while IFS= read -r -d '' finding; do new+=("$finding"); done \
    < <(find "$work/findings" -type f -newer "$log.start" -print0 2>/dev/null | sort -z)
  for finding in "${new[@]}"; do
    case "$(basename "$finding")" in
      crash-*|leak-*) crashes=$((crashes + 1)) ;;
      timeout-*) timeouts=$((timeouts + 1)) ;;
      oom-*) ooms=$((ooms + 1)) ;;
      *) continue ;;
    esac
    mkdir -p "tests/fuzz/regressions/$target"
    cp "$finding" "tests/fuzz/regressions/$target/"
  done
  local found=$((crashes + timeouts + ooms))
  {
    echo "$target: ${seconds}s, ${executions:-?} executions, cov ${cov} ft ${ft}, crashes ${crashes}, timeouts ${timeouts}, ooms ${ooms}"
    if [ "$found" -gt 0 ] || { [ "$status" -ne 0 ] && [ "$stop_on_crash" -eq 1 ]; }; then
      touch "$work/failed"
      grep -m3 -E 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error|uncaught exception|fuzz: ' "$log" \
        | sed 's/^/    /' || true
      [ "$found" -eq 0 ] || echo "    saved to tests/fuzz/regressions/$target/"
    elif [ "$status" -ne 0 ]; then
      touch "$work/failed"
      echo "    $target exited with status $status; see $log"
      tail -n 5 "$log" | sed 's/^/    /'
    fi
  } >"$work/report"
}

running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  echo "fuzz.sh: $target for ${seconds}s (log: $build/work/$target/fuzz.log)"
  fuzz_target "$target" &
  running=$((running + 1))
done
wait || true

total_failures=0
for target in "${targets[@]}"; do
  if [ -f "$build/work/$target/report" ]; then
    cat "$build/work/$target/report"
    [ ! -e "$build/work/$target/failed" ] || total_failures=$((total_failures + 1))
  else
    echo "$target: the run ended without a report; see $build/work/$target/fuzz.log"
    total_failures=$((total_failures + 1))
  fi
done
echo "fuzz: ${#targets[@]} targets fuzzed for ${seconds}s each, $jobs at a time, $total_failures with findings"
[ "$total_failures" -eq 0 ]
