#!/bin/bash
cmake -G Ninja ${CMAKE_ARGS} -B build . && cmake --build build --target install
