#!/usr/bin/env bash
# ABI check of the shared library: build libmmapfile at an older release
# (BASE, a git revision of this repository), build abi_consumer.c against
# THAT header and library, then run the same binary against the shared
# library of this tree. Also: the SONAME is unchanged and every public symbol
# the old library exported is still exported.
# A deliberate ABI break bumps the SONAME (core/CMakeLists.txt) and BASE.
# Exit 77 (skipped) without the git history that holds BASE.
set -euo pipefail
usage="usage: abi_check.sh SOURCE_DIR WORK_DIR BASE_REV"
src=${1:?$usage}
work=${2:?$usage}
base=${3:?$usage}
if ! git -C "$src" rev-parse -q --verify "$base^{commit}" >/dev/null 2>&1; then
  echo "SKIP abi: $base is not in the git history of $src"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work/old"
git -C "$src" archive "$base" | tar -x -C "$work/old"
flags=(-DCMAKE_BUILD_TYPE=Release -DMMF_BUILD_TESTS=OFF -DMMF_BUILD_FAULTS=OFF
       -DMMF_BUILD_BENCH=OFF)
cmake -S "$work/old" -B "$work/old/build" "${flags[@]}" >/dev/null
cmake --build "$work/old/build" --target mmapfile_shared -j 2 >/dev/null
cmake -S "$src" -B "$work/new" "${flags[@]}" >/dev/null
cmake --build "$work/new" --target mmapfile_shared -j 2 >/dev/null
old="$work/old/build/core"
new="$work/new/core"

cc -Wall -Wextra -Werror -o "$work/abi_consumer" "$src/core/tests/consumer/abi_consumer.c" \
  -I"$work/old/core/include" -L"$old" -lmmapfile
LD_LIBRARY_PATH="$old" "$work/abi_consumer" "$work/with_old"   # the test's own check

soname() { readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'; }
so_old=$(soname "$old/libmmapfile.so")
so_new=$(soname "$new/libmmapfile.so")
if [ "$so_old" != "$so_new" ]; then
  echo "abi_check: SONAME $so_old -> $so_new: old binaries do not load; move BASE"
  exit 1
fi
resolved=$(LD_LIBRARY_PATH="$new" ldd "$work/abi_consumer" | awk '/libmmapfile/ {print $3}')
[ "$(readlink -f "$resolved")" = "$(readlink -f "$new/$so_new")" ] ||
  { echo "abi_check: the consumer resolved libmmapfile to $resolved, not the new one"; exit 1; }
LD_LIBRARY_PATH="$new" "$work/abi_consumer" "$work/with_new"

exports() { nm -D --defined-only "$1" | awk '{sub(/@.*/, "", $3)} $3 ~ /^mmf_[a-z]/ {print $3}' | sort -u; }
missing=$(comm -23 <(exports "$old/libmmapfile.so") <(exports "$new/libmmapfile.so"))
[ -z "$missing" ] || { echo "abi_check: no longer exported: $missing"; exit 1; }
echo "abi_check: a consumer built against $base ($so_old) runs on this tree's library;" \
     "$(exports "$old/libmmapfile.so" | wc -l) old symbols all still exported"
