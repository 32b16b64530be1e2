#!/usr/bin/env bash
# Runs every test: the C++ unit tests (GoogleTest through ctest) and the
# Python, CLI and end-to-end tests (pytest, on the real exporters and ONNX
# Runtime). Sets the machine up first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DMODELCUT_BUILD_TESTS=ON >/dev/null
cmake --build build/cpp
ctest --test-dir build/cpp --output-on-failure -j 2

# pytest exits 5 when it collects no test: that is a failure here too.
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
