# Shared helpers of the scripts (sourced, not run).
# shellcheck shell=bash
#
# Conventions every script follows (README "Scripts"):
# - options are checked before any build or run; a usage error is one line on
#   stderr and exit 2 (die MSG 2); a flag's value is taken with optval;
# - INT/TERM stop the script's whole process tree (qemu included), run its
#   cleanups, print "interrupted" and exit 130/143 (mmf_traps);
# - options are checked before bootstrap too (--out a file: exit 2 at once);
# - long commands run through mmf_run so a signal is handled at once: never
#   in a `( cd DIR && ... )` subshell (mmf_run_in DIR CMD) nor a foreground
#   flock (wait_lock FD WHAT): bash defers a trap until those end;
# - a run folder carries the marker INCOMPLETE until the run completes
#   (run_dir_begin / run_dir_end; written whole or not at all, a full
#   filesystem stops the script with one line "no space left on DIR");
#   every reader of result files refuses an incomplete folder, also one
#   whose marker is empty or unreadable (scripts/mmfresults/files.py);
# - a cache folder is made whole or not at all (cache_fill / cache_ready);
# - a command that ran nothing exits non-zero.

MMF_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MMF_JOBS=${MMF_JOBS:-$(nproc 2>/dev/null || echo 2)}
# Debian keeps mkfs.*, fsck.*, losetup... in /usr/sbin and /sbin, which a
# non-root user's PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac
case ":$PATH:" in *:/sbin:*) ;; *) PATH="$PATH:/sbin" ;; esac
export PATH
# Scripts that need python3-* packages run Debian's python3, not the first on PATH.
MMF_PYTHON=/usr/bin/python3

# say MSG: a progress line with the elapsed seconds of this script.
MMF_T0=${MMF_T0:-$SECONDS}
say() { printf '[%4ds] %s\n' "$((SECONDS - MMF_T0))" "$*"; }
# die MSG [STATUS]: print "script: MSG" on stderr and exit STATUS (default 1).
die() { printf '%s: %s\n' "$(basename "$0")" "$1" >&2; exit "${2:-1}"; }

# mmf_py COMMAND ARGS...: the results module (the one reader/writer of result files).
mmf_py() {
  PYTHONPATH="$MMF_TOP/scripts${PYTHONPATH:+:$PYTHONPATH}" "$MMF_PYTHON" -m mmfresults "$@"
}

[[ "$MMF_JOBS" =~ ^[1-9][0-9]{0,3}$ ]] || die "MMF_JOBS must be a whole number from 1 to 9999, got '$MMF_JOBS'" 2

# --- options -------------------------------------------------------------------
# optval OPT "${2-}": print the value of OPT or die (exit 2) when it is missing.
# Use: x=$(optval "$1" "${2-}"); shift
optval() {
  if [ $# -lt 2 ] || [ -z "$2" ] || { [[ "$2" == -* ]] && ! [[ "$2" =~ ^-[0-9.]+$ ]]; }; then
    die "$1 needs a value (see --help)" 2
  fi
  printf '%s\n' "$2"
}
# check_uint OPT VALUE [MIN] [MAX]: VALUE is a decimal integer in [MIN, MAX]
# (default 0 .. 2^63-1), or exit 2.
check_uint() {
  local opt=$1 v=$2 min=${3:-0} max=${4:-9223372036854775807}
  [[ "$v" =~ ^[0-9]+$ ]] && [ ${#v} -le 19 ] || die "$opt must be a whole number, got '$v'" 2
  v=$((10#$v))
  [ "$v" -ge "$min" ] && [ "$v" -le "$max" ] || die "$opt must be between $min and $max, got $v" 2
}
# check_seed OPT VALUE: an unsigned 64-bit seed (0 .. 18446744073709551615), or exit 2.
check_seed() {
  local opt=$1 v=$2
  [[ "$v" =~ ^[0-9]+$ ]] || die "$opt must be an unsigned 64-bit number, got '$v'" 2
  v=$(printf '%s' "$v" | sed 's/^0*//'); [ -n "$v" ] || v=0
  if [ ${#v} -gt 20 ] || { [ ${#v} -eq 20 ] && [[ "$v" > 18446744073709551615 ]]; }; then
    die "$opt must be an unsigned 64-bit number (at most 18446744073709551615), got '$2'" 2
  fi
}
# random_seed: an unsigned 64-bit seed from the kernel's random source.
random_seed() { od -An -N8 -tu8 /dev/urandom | tr -d ' \n'; echo; }
out_dir() {
  # out_dir DIR: create DIR (and parents) and print its absolute path.
  mkdir -p -- "$1" 2>/dev/null || die "--out $1: cannot create the folder" 2
  [ -w "$1" ] || die "--out $1: not writable" 2
  (cd -- "$1" && pwd)
}
is_root() { [ "$(id -u)" = 0 ]; }
# check_dir DIR WHAT [--private]: one line + exit 2 unless DIR is a real
# folder nobody else controls: not a symlink, owned by us or root, sticky if
# others can write in it, and so every folder above it (--private: owned by
# us, writable by nobody else). The one check of the harness: mmfresults
# crashvm check-dir. A scratch folder is then made fresh under it (mktemp -d:
# exclusive, mode 0700; issue 16).
check_dir() {
  local err
  err=$(mmf_py crashvm check-dir "$1" --what "$2" "${@:3}" 2>&1) || die "${err#crashvm: }" 2
}
# check_bench_env: the settings of the benchmark drivers (scripts/bench), or
# exit 2: MMF_BENCH_DIR a folder nobody else controls, MMF_LTM_*_MIB sizes.
check_bench_env() {
  local v
  check_dir "${MMF_BENCH_DIR:-/var/tmp}" "MMF_BENCH_DIR (scratch parent)"
  for v in MMF_LTM_FILE_MIB MMF_LTM_LIMIT_MIB; do
    [ -z "${!v:-}" ] || check_uint "$v" "${!v}" 1 1048576
  done
}

# --- signals and child processes ----------------------------------------------
MMF_CLEANUPS=()
# on_exit CMD: run CMD (eval'd) when the script exits, normally or by a signal; LIFO.
on_exit() { MMF_CLEANUPS=("$1" "${MMF_CLEANUPS[@]}"); }
mmf__cleanup() {
  local c
  for c in "${MMF_CLEANUPS[@]}"; do eval "$c" 2>/dev/null || true; done
  MMF_CLEANUPS=()
}
# tree_pids PID: append every live process below PID to MMF_TREE (no
# command substitution: a $(...) subshell would be a child of this shell too).
tree_pids() {
  local p kids=()
  mapfile -t kids < <(pgrep -P "$1" 2>/dev/null)
  for p in "${kids[@]}"; do MMF_TREE+=("$p"); tree_pids "$p"; done
}
# alive PID: running (not gone, not a zombie waiting for this shell to reap it).
alive() {
  local _a _b state
  read -r _a _b state _ 2>/dev/null <"/proc/$1/stat" || return 1
  [ "$state" != Z ]
}
# kill_tree SIG: signal every process below this shell (qemu, drivers,
# builds...), wait up to 2 s, then SIGKILL what is left.
kill_tree() {
  local p i left
  MMF_TREE=()
  tree_pids $$
  [ ${#MMF_TREE[@]} -gt 0 ] || return 0
  kill -"$1" "${MMF_TREE[@]}" 2>/dev/null || true
  for i in 1 2 3 4 5 6 7 8 9 10; do
    left=()
    for p in "${MMF_TREE[@]}"; do alive "$p" && left+=("$p"); done
    [ ${#left[@]} -gt 0 ] || return 0
    sleep 0.2
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
}
# MMF_SIGNAL (e.g. SIGTERM) and MMF_SIGNAL_EXIT (143): set when a signal ends
# the script, before its on_exit cleanups run (a cleanup can record it).
MMF_SIGNAL="" MMF_SIGNAL_EXIT=""
mmf__on_signal() {
  local sig=$1 code=$2
  trap '' INT TERM
  # shellcheck disable=SC2034  # read by the scripts' cleanups
  MMF_SIGNAL=SIG$sig MMF_SIGNAL_EXIT=$code
  # To the stderr the script started with: a redirection around the
  # command that was running (mmf_run cmd >log 2>&1) must not swallow it.
  printf '%s: interrupted (SIG%s)\n' "$(basename "$0")" "$sig" >&"${MMF_STDERR:-2}"
  kill_tree TERM
  if [ -n "${MMF_RUN_DIR_OWNED:-}" ]; then run_dir_interrupted "$MMF_RUN_DIR_OWNED" "SIG$sig"; fi
  mmf__cleanup
  trap - EXIT
  exit "$code"
}
# mmf_traps: install the INT/TERM/EXIT handling (call once, near the top).
mmf_traps() {
  exec {MMF_STDERR}>&2
  trap 'mmf__on_signal INT 130' INT
  trap 'mmf__on_signal TERM 143' TERM
  trap 'mmf__on_signal HUP 129' HUP
  trap 'mmf__cleanup' EXIT
}
# mmf_run CMD...: run CMD in the background and wait for it, so a signal to
# this script is handled at once (bash defers traps while a foreground child
# runs). Returns CMD's status. Its stdin is /dev/null.
mmf_run() {
  "$@" </dev/null &
  local pid=$! rc=0
  wait "$pid" || rc=$?
  return "$rc"
}
# mmf_run_in DIR CMD...: mmf_run CMD with DIR as its working directory (not a
# `(cd DIR && ...)` subshell: bash defers a trap while a subshell runs).
mmf_run_in() {
  local d=$1; shift
  mmf_run env -C "$d" "$@"
}
# wait_lock FD WHAT: take the exclusive flock on FD; if another process holds
# it, say so and wait (through mmf_run: a signal stops the wait at once).
wait_lock() {
  flock -n "$1" && return 0
  say "$2: waiting for another run holding its lock"
  mmf_run flock "$1"
}

# --- run folders ---------------------------------------------------------------
# new_run_dir: make a fresh results/runs/<UTC timestamp>-<random>/ and print its path
# (exclusive creation: two runs started in the same second get two folders).
new_run_dir() {
  mkdir -p "$MMF_TOP/results/runs"
  mktemp -d "$MMF_TOP/results/runs/$(date -u +%Y%m%dT%H%M%SZ)-XXXXXX"
}
# run_dir_begin DIR: mark DIR incomplete unless an enclosing run already did
# (its token is ours); the owner removes the marker with run_dir_end. The
# marker is written whole into a temporary file and linked into place
# (never a 0-byte or half marker; never over another run's); when it cannot
# be written the script stops with one line (exit 1).
run_dir_begin() {
  local d=$1 m="$1/INCOMPLETE" tmp token
  if [ -f "$m" ] && [ -n "${MMF_RUN_TOKEN:-}" ] && grep -qx "token=$MMF_RUN_TOKEN" "$m" 2>/dev/null; then
    return 0
  fi
  # Another run's marker: a run still writing here, or one cut short whose
  # folder must keep looking incomplete. Never take it over.
  if [ -e "$m" ] || [ -L "$m" ]; then
    die "$d: holds another run's INCOMPLETE marker ($(head -1 "$m" 2>/dev/null)): use a new folder" 2
  fi
  token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
  tmp=$(mktemp "$d/.INCOMPLETE.XXXXXX" 2>/dev/null) || out_write_failed "$d" "its INCOMPLETE marker"
  if ! { printf 'in progress: %s started %s by pid %s\n' "$(basename "$0")" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$$" &&
         printf 'token=%s\n' "$token"; } >"$tmp" 2>/dev/null || ! ln "$tmp" "$m" 2>/dev/null; then
    rm -f "$tmp"
    [ -e "$m" ] && die "$d: another run wrote its INCOMPLETE marker first: use a new folder" 2
    out_write_failed "$d" "its INCOMPLETE marker"
  fi
  rm -f "$tmp"
  MMF_RUN_TOKEN=$token
  export MMF_RUN_TOKEN
  MMF_RUN_DIR_OWNED=$d
}
# out_full DIR: true when DIR's filesystem has no room left (a 4 KiB probe
# write fails with ENOSPC or EDQUOT).
out_full() {
  local p err
  if p=$(mktemp "$1/.space-probe.XXXXXX" 2>&1); then
    err=$( { head -c 4096 /dev/zero >"$p"; } 2>&1 ) || true
    rm -f "$p"
  else
    err=$p
  fi
  [[ "$err" == *"No space left"* || "$err" == *"quota exceeded"* ]]
}
# out_write_failed DIR WHAT: die with one line: "no space left on DIR" when
# its filesystem is full, else that WHAT could not be written there (exit 1).
out_write_failed() {
  if out_full "$1"; then die "no space left on $1 (cannot write $2)"; fi
  die "$1: cannot write $2"
}
run_dir_interrupted() {
  printf 'interrupted: %s by %s at %s\n' "$(basename "$0")" "$2" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    >>"$1/INCOMPLETE" 2>/dev/null || true
}
# run_dir_end DIR STATUS: the run completed (whatever its verdict): drop the marker.
run_dir_end() {
  [ "${MMF_RUN_DIR_OWNED:-}" = "$1" ] || return 0
  rm -f "$1/INCOMPLETE"
  MMF_RUN_DIR_OWNED=
}

# --- builds --------------------------------------------------------------------
# drop_foreign_cache BUILD SOURCE: when CMake configured BUILD for another
# source folder than SOURCE (a copied or moved clone), say so and remove its
# cache, so the next configure starts from scratch (and builds SOURCE).
drop_foreign_cache() {
  local home
  [ -f "$1/CMakeCache.txt" ] || return 0
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt")
  [ "$(cd -- "$home" 2>/dev/null && pwd -P)" != "$(cd -- "$2" && pwd -P)" ] || return 0
  say "$1 was configured for ${home:-an unknown source folder}, not $2: configuring it from scratch"
  rm -rf -- "$1/CMakeCache.txt" "$1/CMakeFiles"
}
# build_preset NAME [TARGET...]: configure (once) and build a CMake preset,
# holding an exclusive lock on the build folder (two runs in one clone wait
# for each other instead of linking over each other). A build folder that
# CMake configured for another checkout (a copied or moved clone) is
# configured again from scratch: it would build the other clone's sources.
build_preset() {
  local preset=$1; shift
  local dir="$MMF_TOP/build/$preset"
  local log="$dir.log"
  mkdir -p "$MMF_TOP/build"
  exec {MMF_LOCK_FD}>"$MMF_TOP/build/.$preset.lock"
  wait_lock "$MMF_LOCK_FD" "build $preset"
  drop_foreign_cache "$dir" "$MMF_TOP"
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    say "configure $preset"
    mmf_run_in "$MMF_TOP" cmake --preset "$preset" >"$log" 2>&1 ||
      { cat "$log" >&2; die "configure of preset $preset failed (log: $log)"; }
  fi
  say "build $preset"
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  mmf_run_in "$MMF_TOP" cmake --build --preset "$preset" -j "$MMF_JOBS" "${targets[@]}" >>"$log" 2>&1 ||
    { tail -50 "$log" >&2; die "build of preset $preset failed (log: $log)"; }
  exec {MMF_LOCK_FD}>&-
}

# --- caches --------------------------------------------------------------------
# A cache folder (e.g. crash-vm's unpacked kernel) is whole only with its stamp
# file .complete, written last.
# cache_ready DIR: DIR is a complete cache folder.
cache_ready() { [ -f "$1/.complete" ]; }
# cache_fill DIR CMD...: (re)make the cache folder DIR. CMD runs (mmf_run)
# with a fresh folder next to DIR as its last argument; when it succeeds the
# folder gets its stamp and replaces DIR (an incomplete DIR, from an older or
# interrupted run, goes). On a failure or a signal neither DIR nor the
# temporary folder is left. Returns CMD's status.
cache_fill() {
  local dest=$1 tmp rc=0; shift
  tmp=$(mktemp -d "$dest.tmp.XXXXXX") || return 1
  on_exit "rm -rf -- $(printf '%q' "$tmp")"
  mmf_run "$@" "$tmp" || rc=$?
  if [ "$rc" = 0 ]; then
    { : >"$tmp/.complete" && rm -rf -- "$dest" && mv -T -- "$tmp" "$dest"; } || rc=1
  fi
  rm -rf -- "$tmp"
  return "$rc"
}
