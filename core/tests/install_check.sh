#!/usr/bin/env bash
# Install a release build of the library into a scratch prefix, then build and
# run an outside consumer against it with find_package(mmapfile) (static and
# shared) and with `pkg-config mmapfile`.
set -euo pipefail
src=${1:?usage: install_check.sh SOURCE_DIR WORK_DIR}
work=${2:?usage: install_check.sh SOURCE_DIR WORK_DIR}
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"

# A plain build: the caller's build may carry sanitizer flags an outside
# consumer would not link with.
cmake -S "$src" -B "$work/lib" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DMMF_BUILD_TESTS=OFF -DMMF_BUILD_FAULTS=OFF -DMMF_BUILD_BENCH=OFF >/dev/null
cmake --build "$work/lib" -j 2 >/dev/null
cmake --install "$work/lib" >/dev/null
for f in include/mmapfile.h lib/libmmapfile.a lib/libmmapfile.so lib/pkgconfig/mmapfile.pc \
         lib/cmake/mmapfile/mmapfileConfig.cmake; do
  [ -e "$prefix/$f" ] || { echo "install_check: missing $prefix/$f"; exit 1; }
done

# The installed shared library exports the public API only: every dynamic
# symbol it defines is declared in the installed header, none is internal.
exports=$(nm -D --defined-only "$prefix/lib/libmmapfile.so" |
  awk '$2 != "A" {sub(/@.*/, "", $3); print $3}' | sort -u)
[ -n "$exports" ] || { echo "install_check: libmmapfile.so exports nothing"; exit 1; }
for sym in $exports; do
  grep -Eq "[ *]$sym\(" "$prefix/include/mmapfile.h" ||
    { echo "install_check: libmmapfile.so exports $sym, not in mmapfile.h"; exit 1; }
done
# ... and every function the header declares is exported (mmapfile.map).
for sym in $(grep -Eo '^[a-z].*[ *](mmf_[a-z_]+)\(' "$prefix/include/mmapfile.h" |
             grep -Eo 'mmf_[a-z_]+\($' | tr -d '('); do
  grep -qx "$sym" <<<"$exports" || { echo "install_check: $sym not exported"; exit 1; }
done
echo "install_check: libmmapfile.so exports $(wc -w <<<"$exports") symbols, all of mmapfile.h"

cmake -S "$src/core/tests/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer_static" "$work/a.log"
LD_LIBRARY_PATH="$prefix/lib" "$work/consumer/consumer_shared" "$work/b.log"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc -o "$work/consumer_pc" "$src/core/tests/consumer/consumer.c" $(pkg-config --cflags --libs mmapfile)
LD_LIBRARY_PATH="$prefix/lib" "$work/consumer_pc" "$work/c.log"
for f in a b c; do
  [ ! -e "$work/$f.log" ] || { echo "install_check: consumer left $f.log behind"; exit 1; }
done
echo "install_check: find_package (static, shared) and pkg-config consumers passed"
