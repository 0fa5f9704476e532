#!/bin/bash
set -ex
cmake -B build -G Ninja ${CMAKE_ARGS} -DCMAKE_BUILD_TYPE=Release
cmake --build build
cmake --install build
