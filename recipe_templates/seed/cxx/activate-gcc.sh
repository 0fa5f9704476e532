# fastconda stand-in for conda-forge's gcc_@SUBDIR@: the host's C compiler (@VERSION@), building for the
# host prefix ($PREFIX in a recipe build). CMake and pkg-config look for libraries, headers and packages in
# that prefix only, never in the system's /usr (whose Tango would otherwise win), as conda-forge's
# compiler activation does; the compiler itself still uses the host's libc and libstdc++.
_fastconda_prefix="${PREFIX:-${CONDA_PREFIX:-}}"
export CC="@CC@"
export CMAKE_ARGS="${CMAKE_ARGS:-} -DCMAKE_FIND_ROOT_PATH=${_fastconda_prefix} -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY -DCMAKE_INSTALL_PREFIX=${_fastconda_prefix} -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_PROGRAM_PATH=${BUILD_PREFIX:-${_fastconda_prefix}}/bin;${_fastconda_prefix}/bin"
export PKG_CONFIG_LIBDIR="${_fastconda_prefix}/lib/pkgconfig:${_fastconda_prefix}/share/pkgconfig"
export PKG_CONFIG_PATH="${PKG_CONFIG_LIBDIR}"
unset _fastconda_prefix
