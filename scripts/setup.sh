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
              libhdf5-dev libzip-dev nlohmann-json3-dev clang libclang-rt-dev ccache)

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
# The package is built and installed again only when its sources changed
# since the last install (or it no longer imports): CI runs this script first.
source scripts/build_env.sh
installed=.venv/.modelcut-installed
sources=$({ git ls-files -z -- CMakeLists.txt pyproject.toml src include python \
  | xargs -0 sha256sum | sha256sum; } 2>/dev/null) || sources=""  # not a git checkout: always install
if [ -z "$sources" ] || [ "$(cat "$installed" 2>/dev/null)" != "$sources" ] \
    || ! (cd / && "$OLDPWD/.venv/bin/python" -c "import modelcut._core" 2>/dev/null); then
  echo "setup: building and installing modelcut" >&2
  rm -f "$installed"
  .venv/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall .
  echo "$sources" > "$installed"
else
  echo "setup: modelcut is installed from these sources already" >&2
fi
