#!/usr/bin/env bash
# The lint gate, the first check of scripts/test.sh: ruff check and ruff
# format --check over the Python sources (settings in pyproject.toml), and
# clang-format --dry-run -Werror over the C++ sources (.clang-format). Takes
# seconds. `scripts/lint.sh --fix` applies the formatters and ruff's fixes
# instead of only reporting.
set -euo pipefail
cd "$(dirname "$0")/.."

ruff=(.venv/bin/python -m ruff)
mapfile -d '' cpp_files < <(git ls-files -z -- '*.cpp' '*.h')

if [ "${1:-}" = --fix ]; then
  "${ruff[@]}" check --fix --quiet .
  "${ruff[@]}" format --quiet .
  clang-format -i "${cpp_files[@]}"
  exit 0
fi

status=0
"${ruff[@]}" check --quiet . || status=1
"${ruff[@]}" format --check --quiet . || status=1
clang-format --dry-run -Werror "${cpp_files[@]}" || status=1
if [ "$status" -ne 0 ]; then
  echo "lint: FAILED; scripts/lint.sh --fix formats the sources and applies ruff's safe fixes" >&2
  exit 1
fi
echo "lint: ruff check, ruff format and clang-format found nothing to change (${#cpp_files[@]} C++ files)"
