#!/usr/bin/env bash
# Build stress_stable with ThreadSanitizer in its own tree (MMF_TSAN=ON) and
# run it: one writer growing an MMF_STABLE handle to >= 1 GiB (sparse) per
# growth policy while readers verify every published record. Any data race
# TSan sees, or any failed check, fails the run.
set -euo pipefail
usage="usage: tsan_check.sh SOURCE_DIR WORK_DIR"
src=${1:?$usage}
work=${2:?$usage}
mkdir -p "$work"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMF_TSAN=ON \
  -DMMF_BUILD_FAULTS=OFF -DMMF_BUILD_BENCH=OFF >/dev/null
cmake --build "$work/build" --target stress_stable -j 2 >/dev/null
rm -rf "$work/files"
mkdir -p "$work/files"
TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" \
  "$work/build/core/tests/stress_stable" "$work/files"
rm -rf "$work/files"
