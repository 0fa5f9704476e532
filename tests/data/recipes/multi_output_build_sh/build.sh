#!/bin/bash
set -euo pipefail
./configure --prefix="$PREFIX"
make -j"${CPU_COUNT}" install
