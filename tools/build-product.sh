#!/usr/bin/env bash
# Builds what tools/run.sh runs (vmgate-vmm and vmgated), with the system
# compiler and the release flags, into $VMGATE_BUILD_DIR (default: build).
# tools/test.sh runs it too, so the suite fails when this build does: the
# test build (clang, sanitizers) does not see every warning that gcc's
# optimizer does, and -Werror makes any of them a broken first command.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${VMGATE_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target vmgate-vmm vmgated >/dev/null
