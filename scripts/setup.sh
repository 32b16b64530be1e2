#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for modelcut: the C++ toolchain and
# libraries from apt, then a Python virtual environment in .venv with the
# pinned packages and modelcut itself (its C++ core built by pip).
# Safe to run again: it installs only what is missing.
# --packages-only stops before building modelcut (scripts/test.sh runs the
# lint gate between the two).
set -euo pipefail
cd "$(dirname "$0")/.."

# clang and its runtime libraries (libFuzzer, the sanitizers) build the fuzz
# targets that scripts/test.sh runs (scripts/fuzz.sh); clang-format and
# ccache serve the lint gate (scripts/lint.sh) and faster rebuilds.
APT_PACKAGES=(g++ cmake ninja-build pkg-config libgtest-dev python3-venv python3-dev
              libhdf5-dev libzip-dev nlohmann-json3-dev clang libclang-rt-dev ccache clang-format)

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

# The pinned Python packages (about 8 GB: torch, TensorFlow, JAX, Ray...) are
# installed once per machine into a shared environment, keyed by the
# requirement files and the Python version, so that another clone or a fresh
# CI checkout on the same machine reuses them; .venv is then a small
# environment of its own that sees those packages through a .pth file, and
# modelcut itself is installed into .venv only. MODELCUT_DEPS_CACHE chooses
# the folder of the shared environments; MODELCUT_DEPS_CACHE=off installs
# everything into .venv instead.
python_version=$(python3 -c 'import sys; print(sys.version)')
wanted=$({ echo "deps-v1 $python_version"; cat requirements/build.txt requirements/test.txt \
  requirements/no-deps.txt; } | sha256sum | cut -c1-16)
deps_cache="${MODELCUT_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelcut/python}"
# Installs the pinned packages into the environment at $1.
install_packages() {
  "$1/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "$1/bin/pip" install -q --disable-pip-version-check -r requirements/build.txt -r requirements/test.txt
  "$1/bin/pip" install -q --disable-pip-version-check --no-deps -r requirements/no-deps.txt
}
site_packages() {
  "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  python3 -m venv .venv
fi
stamp=.venv/.modelcut-requirements
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] \
    || { [ "$deps_cache" != off ] && [ ! -f "$deps_cache/$wanted/.complete" ]; }; then
  rm -f "$stamp" .venv/.modelcut-installed
  if [ "$deps_cache" = off ]; then
    echo "setup: installing Python packages into .venv (first run takes a few minutes)" >&2
    install_packages .venv
    rm -f "$(site_packages .venv)/_modelcut_deps.pth"
  else
    deps="$deps_cache/$wanted"
    mkdir -p "$deps_cache"
    # One process builds a shared environment; another one that wants the
    # same environment waits for it. .complete is written last, so an
    # environment whose installation was cut short is built again.
    exec 9>"$deps_cache/$wanted.lock"
    flock 9
    if [ ! -f "$deps/.complete" ]; then
      echo "setup: installing Python packages into $deps, shared by every clone on this machine (first run takes a few minutes)" >&2
      rm -rf "$deps"
      python3 -m venv "$deps"
      install_packages "$deps"
      touch "$deps/.complete"
    else
      echo "setup: using the Python packages in $deps" >&2
    fi
    exec 9>&-
    site_packages "$deps" > "$(site_packages .venv)/_modelcut_deps.pth"
  fi
  echo "$wanted" > "$stamp"
fi
if [ "${1:-}" = --packages-only ]; then
  exit 0
fi

# The package is built and installed again only when its sources changed
# since the last install (or it no longer imports): CI runs this script first.
# Its build folder (build/<wheel tag>) is not the one scripts/test.sh runs
# ctest in (build/cpp): the native command built there is the plain CMake
# build, without the package beside it, which the tests of the command
# alone need. ccache makes the second compilation mostly hits.
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
