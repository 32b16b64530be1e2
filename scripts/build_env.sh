# Sourced by the scripts that compile (setup.sh, test.sh, fuzz.sh): every
# CMake build compiles through ccache when it is installed (setup.sh installs
# it), so that the same sources built again, in this checkout or in another
# clone on the same machine, are mostly cache hits. CMake reads the launcher
# from the environment when it configures a new build folder.
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
  # Paths inside the checkout are hashed relative to it, and the working
  # folder is left out of the hash, so two clones share their entries.
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
fi
