#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for modelcut: the C++ toolchain and
# libraries from apt, then a Python virtual environment in .venv with the
# pinned packages and modelcut itself (its C++ core built by pip).
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# clang and its runtime libraries (libFuzzer, the sanitizers) build the fuzz
# targets that scripts/test.sh runs (scripts/fuzz.sh).
APT_PACKAGES=(g++ cmake ninja-build pkg-config libgtest-dev python3-venv python3-dev
              libhdf5-dev libzip-dev nlohmann-json3-dev clang libclang-rt-dev)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  python3 -m venv .venv
fi
stamp=.venv/.modelcut-requirements
wanted=$(cat requirements/build.txt requirements/test.txt requirements/no-deps.txt | sha256sum)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing Python packages (first run takes a few minutes)" >&2
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/pip install -q --disable-pip-version-check -r requirements/build.txt -r requirements/test.txt
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements/no-deps.txt
  echo "$wanted" > "$stamp"
fi
echo "setup: building and installing modelcut" >&2
.venv/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall .
