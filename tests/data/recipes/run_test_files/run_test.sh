#!/bin/bash
set -ex
test -d $SP_DIR
