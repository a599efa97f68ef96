#!/usr/bin/env bash
# unit.ltm_cache - bench_ltm refuses a cache directory someone else could
# have made first (issue 16): the name planted as a symlink, as a directory
# of another user (root: chowned to nobody; skipped otherwise), as a
# directory others can write. Each: exit 1, one line naming the path and
# the reason, no file written into it. A fresh name: made 0700, accepted.
# usage: ltm_cache_test.sh PATH/TO/bench_ltm
set -euo pipefail
if [[ $# -ne 1 || $1 == --help ]]; then echo "usage: $0 PATH/TO/bench_ltm" >&2; exit 2; fi
ltm=$1 fails=0 checks=0
scratch=$(mktemp -d) && trap 'rm -rf "$scratch"' EXIT
chmod 0711 "$scratch"

# refused CACHE WORD: bench_ltm with MMF_BENCH_CACHE=CACHE exits 1 with one
# stderr line naming CACHE and containing WORD.
refused() {
  local cache=$1 word=$2 rc=0
  MMF_BENCH_CACHE=$cache "$ltm" --benchmark_list_tests >"$scratch/out" 2>"$scratch/err" || rc=$?
  checks=$((checks + 1))
  if [[ $rc -ne 1 || $(wc -l <"$scratch/err") -ne 1 ]] || ! grep -qF -- "$cache" "$scratch/err" ||
     ! grep -q -- "$word" "$scratch/err"; then
    echo "FAIL: cache $cache ($word): exit $rc, stderr: $(cat "$scratch/err")"
    fails=$((fails + 1))
  else
    echo "ok: refused: $(cat "$scratch/err")"
  fi
}

mkdir -m 0700 "$scratch/target"
ln -s "$scratch/target" "$scratch/link"
refused "$scratch/link" symlink
[[ -z $(ls -A "$scratch/target") ]] || { echo "FAIL: wrote through the symlink"; fails=$((fails + 1)); }

mkdir -m 0700 "$scratch/open" && chmod 0777 "$scratch/open"
refused "$scratch/open" "mode 0777"

touch "$scratch/file"
refused "$scratch/file" "not a directory"

if [[ $(id -u) -eq 0 ]]; then
  mkdir -m 0700 "$scratch/theirs" && chown nobody "$scratch/theirs"
  refused "$scratch/theirs" "owned by uid $(id -u nobody)"
else
  echo "skip: planting a directory of another user needs root"
fi

rc=0
MMF_BENCH_CACHE=$scratch/fresh "$ltm" --benchmark_list_tests >"$scratch/out" 2>"$scratch/err" || rc=$?
checks=$((checks + 1))
mode=$(stat -c %a "$scratch/fresh" 2>/dev/null || echo none)
if [[ $rc -ne 0 || $mode != 700 ]] || ! grep -q '^BM_LTM' "$scratch/out"; then
  echo "FAIL: a fresh cache name: exit $rc, mode $mode, $(cat "$scratch/err")"
  fails=$((fails + 1))
else
  echo "ok: a fresh name is made 0700 and used"
fi
echo "ltm_cache: $checks checks, $fails failed"
[[ $fails -eq 0 ]]
