# fastconda stand-in for conda-forge's gxx_@SUBDIR@: the host's C++ compiler (@VERSION@). Depends on
# gcc_@SUBDIR@, whose activation sets CMAKE_ARGS and the pkg-config search path.
export CXX="@CXX@"
