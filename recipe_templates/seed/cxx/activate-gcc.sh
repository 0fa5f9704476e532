# fastconda stand-in for conda-forge's gcc_@SUBDIR@: the host's C compiler (@VERSION@), building for the
# host prefix ($PREFIX in a recipe build). CMake and pkg-config look for libraries, headers and packages in
# that prefix only, never in the system's /usr (whose Tango would otherwise win), as conda-forge's
# compiler activation does; the compiler itself still uses the host's libc and libstdc++.
_fastconda_prefix="${PREFIX:-${CONDA_PREFIX:-}}"
export CC="@CC@"
export CMAKE_ARGS="${CMAKE_ARGS:-} -DCMAKE_FIND_ROOT_PATH=${_fastconda_prefix} -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY -DCMAKE_INSTALL_PREFIX=${_fastconda_prefix} -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_PROGRAM_PATH=${BUILD_PREFIX:-${_fastconda_prefix}}/bin;${_fastconda_prefix}/bin"
# The compiler cache (ccache, a run dependency of this package) when the build names its folder
# (CCACHE_DIR), as fastconda's C++ builds do. Every build has new folders: paths under the build's
# own folder (its sources and prefixes) are hashed relative to it, the working folder not at all, so
# that an unchanged file hits. fastconda names a log of the build's calls (CCACHE_STATSLOG) to count
# its hits (fastconda.cxx.ccache).
if [ -n "${CCACHE_DIR:-}" ] && [ -n "${SRC_DIR:-}" ] && command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$(dirname "${SRC_DIR}")"
  export CCACHE_NOHASHDIR=1
  # the engine copies the sources and links the headers anew for every build: their new times say
  # nothing about their content, which ccache hashes anyway
  export CCACHE_SLOPPINESS="include_file_mtime,include_file_ctime"
  export CMAKE_ARGS="${CMAKE_ARGS} -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
fi
export PKG_CONFIG_LIBDIR="${_fastconda_prefix}/lib/pkgconfig:${_fastconda_prefix}/share/pkgconfig"
export PKG_CONFIG_PATH="${PKG_CONFIG_LIBDIR}"
unset _fastconda_prefix
