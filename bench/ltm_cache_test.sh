#!/usr/bin/env bash
# unit.ltm_cache - bench_ltm refuses a cache directory someone else could
# have made first (issue 16): the name planted as a symlink, as a directory
# of another user (root: chowned to nobody; skipped otherwise), as a
# directory others can write. Each: exit 1, one line naming the path and
# the reason, no file written into it. A fresh name: made 0700, accepted.
# The same for the scratch parent MMF_BENCH_DIR of every driver
# (bench_fixture.h): a symlink, a directory others can write that is not
# sticky, a directory planted by nobody in a sticky folder (root only).
# And (root) a run stopped by SIGTERM removes its memory cgroup.
# usage: ltm_cache_test.sh PATH/TO/bench_ltm
set -euo pipefail
if [[ $# -ne 1 || $1 == --help ]]; then echo "usage: $0 PATH/TO/bench_ltm" >&2; exit 2; fi
ltm=$1 fails=0 checks=0
# /tmp, not $TMPDIR: nobody must reach it to plant a name
scratch=$(mktemp -d /tmp/mmf-ltm-cache.XXXXXX) && trap 'rm -rf "$scratch"' EXIT
chmod 0711 "$scratch"

# refused CACHE WORD [VAR]: bench_ltm with VAR=CACHE (default
# MMF_BENCH_CACHE) exits 1 with one stderr line naming CACHE and containing WORD.
refused() {
  local cache=$1 word=$2 var=${3:-MMF_BENCH_CACHE} rc=0
  env "$var=$cache" "$ltm" --benchmark_list_tests >"$scratch/out" 2>"$scratch/err" || rc=$?
  checks=$((checks + 1))
  if [[ $rc -ne 1 || $(wc -l <"$scratch/err") -ne 1 ]] || ! grep -qF -- "$cache" "$scratch/err" ||
     ! grep -q -- "$word" "$scratch/err"; then
    echo "FAIL: $var $cache ($word): exit $rc, stderr: $(cat "$scratch/err")"
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

refused "$scratch/link" symlink MMF_BENCH_DIR
refused "$scratch/open" "not sticky" MMF_BENCH_DIR
[[ -z $(ls -A "$scratch/target")$(ls -A "$scratch/open") ]] || { echo "FAIL: a scratch folder was made"; fails=$((fails + 1)); }
if [[ $(id -u) -eq 0 ]]; then
  mkdir -m 1777 "$scratch/shared"
  setpriv --reuid nobody --regid nogroup --clear-groups mkdir -m 0777 "$scratch/shared/theirs"
  refused "$scratch/shared/theirs" "owned by uid $(id -u nobody)" MMF_BENCH_DIR
  [[ -z $(ls -A "$scratch/shared/theirs") ]] || { echo "FAIL: wrote into nobody's folder"; fails=$((fails + 1)); }
fi

# cgroups planted under the pid the driver will have (sh execs it).
own_mem=$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
blkio=/sys/fs/cgroup/blkio mem=/sys/fs/cgroup/memory${own_mem%/}
if [[ $(id -u) -eq 0 && -w $blkio && -w $mem ]]; then
  rc=0
  sh -c 'mkdir "$1/mmf-bench-io-$$" "$2/mmf-bench-$$" && chown nobody "$1/mmf-bench-io-$$" "$2/mmf-bench-$$" &&
         echo $$ >"$3/pid" && MMF_BENCH_CACHE=off MMF_LTM_FILE_MIB=4 MMF_LTM_LIMIT_MIB=2 exec "$4" --benchmark_filter=api:pread --benchmark_min_time=0.01 \
           --benchmark_format=json' sh "$blkio" "$mem" "$scratch" "$ltm" \
    >"$scratch/out" 2>"$scratch/err" || rc=$?
  pid=$(cat "$scratch/pid")
  checks=$((checks + 1))
  if [[ $rc -ne 0 ]] || ! grep -q "unavailable: cannot make $blkio/mmf-bench-io-$pid: File exists" "$scratch/out" ||
     ! grep -q "skipped: cannot make $mem/mmf-bench-$pid: File exists" "$scratch/out" ||
     [[ ! -d $blkio/mmf-bench-io-$pid || ! -d $mem/mmf-bench-$pid ]] ||
     cat "$blkio/mmf-bench-io-$pid/blkio.throttle.read_bps_device" "$mem/mmf-bench-$pid/memory.limit_in_bytes" |
       grep -qv '^9223372036854771712$'; then   # no throttle rule; the default (no) memory limit
    echo "FAIL: planted cgroups of pid $pid: exit $rc, $(grep -E 'own_io|error_message' "$scratch/out" | tr -s ' ') $(cat "$scratch/err")"
    fails=$((fails + 1))
  else
    echo "ok: planted cgroups mmf-bench-io-$pid and mmf-bench-$pid refused, left as they were"
  fi
  rmdir "$blkio/mmf-bench-io-$pid" "$mem/mmf-bench-$pid" 2>/dev/null || true
else
  echo "skip: planting cgroups needs root and cgroup v1 blkio + memory"
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
# A cancelled run (SIGTERM) leaves no memory cgroup behind (root with a
# memory controller; a small file and limit so the run starts at once).
if [[ $(id -u) -eq 0 ]]; then
  MMF_BENCH_DIR=$scratch MMF_BENCH_CACHE=off MMF_LTM_FILE_MIB=16 MMF_LTM_LIMIT_MIB=64 \
    "$ltm" --benchmark_filter='^BM_LTM/api:pread' --benchmark_min_time=60 >"$scratch/ltm.out" 2>&1 &
  pid=$! cg=""
  for _ in $(seq 300); do   # up to 30 s for the file and the cgroup
    cg=$(grep -o "mmf-bench-$pid\$" "/proc/$pid/cgroup" 2>/dev/null | head -1) || true
    [[ -z $cg ]] && kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $cg ]]; then
    kill "$pid" 2>/dev/null || true; wait "$pid" || true
    echo "skip: bench_ltm made no memory cgroup here: $(grep -m1 -o 'skipped:.*' "$scratch/ltm.out" || tail -1 "$scratch/ltm.out")"
  else
    rc=0
    kill -TERM "$pid"; wait "$pid" || rc=$?
    left=$(find /sys/fs/cgroup -maxdepth 8 -type d -name "mmf-bench-$pid" 2>/dev/null)
    checks=$((checks + 1))
    if [[ $rc -ne 143 || -n $left ]]; then
      echo "FAIL: SIGTERM during a run: exit $rc, cgroup left: ${left:-none}"
      fails=$((fails + 1))
    else
      echo "ok: SIGTERM during a run: exit 143, its memory cgroup removed"
    fi
  fi
fi
echo "ltm_cache: $checks checks, $fails failed"
[[ $fails -eq 0 ]]
