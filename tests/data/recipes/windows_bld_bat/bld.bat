cmake -G Ninja -B build %CMAKE_ARGS% -DCMAKE_INSTALL_PREFIX=%LIBRARY_PREFIX%
if errorlevel 1 exit 1
cmake --build build --target install
if errorlevel 1 exit 1
