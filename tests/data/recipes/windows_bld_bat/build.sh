#!/bin/bash
cmake -B build ${CMAKE_ARGS}
cmake --build build --target install
