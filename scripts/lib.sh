# Shared helpers of the scripts (sourced, not run).
# shellcheck shell=bash
#
# Conventions every script follows (README "Scripts"):
# - options are checked before any build or run; a usage error is one line on
#   stderr and exit 2 (die MSG 2); a flag's value is taken with optval;
# - INT/TERM stop the script's whole process tree (qemu included), run its
#   cleanups, print "interrupted" and exit 130/143 (mmf_traps);
# - long commands run through mmf_run so a signal is handled at once;
# - a run folder carries the marker INCOMPLETE until the run completes
#   (run_dir_begin / run_dir_end); every reader of result files refuses an
#   incomplete folder (scripts/mmfresults/files.py);
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
mmf__on_signal() {
  local sig=$1 code=$2
  trap '' INT TERM
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

# --- run folders ---------------------------------------------------------------
# new_run_dir: make a fresh results/runs/<UTC timestamp>-<random>/ and print its path
# (exclusive creation: two runs started in the same second get two folders).
new_run_dir() {
  mkdir -p "$MMF_TOP/results/runs"
  mktemp -d "$MMF_TOP/results/runs/$(date -u +%Y%m%dT%H%M%SZ)-XXXXXX"
}
# run_dir_begin DIR: mark DIR incomplete unless an enclosing run already did
# (its token is ours); the owner removes the marker with run_dir_end.
run_dir_begin() {
  local d=$1 m="$1/INCOMPLETE"
  if [ -f "$m" ] && [ -n "${MMF_RUN_TOKEN:-}" ] && grep -qx "token=$MMF_RUN_TOKEN" "$m" 2>/dev/null; then
    return 0
  fi
  # Another run's marker: a run still writing here, or one cut short whose
  # folder must keep looking incomplete. Never take it over.
  if [ -e "$m" ]; then
    die "$d: holds another run's INCOMPLETE marker ($(head -1 "$m" 2>/dev/null)): use a new folder" 2
  fi
  MMF_RUN_TOKEN=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
  export MMF_RUN_TOKEN
  { printf 'in progress: %s started %s by pid %s\n' "$(basename "$0")" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$$"
    printf 'token=%s\n' "$MMF_RUN_TOKEN"; } >"$m" || die "$d: cannot write its INCOMPLETE marker"
  MMF_RUN_DIR_OWNED=$d
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
# build_preset NAME [TARGET...]: configure (once) and build a CMake preset,
# holding an exclusive lock on the build folder (two runs in one clone wait
# for each other instead of linking over each other).
build_preset() {
  local preset=$1; shift
  local dir="$MMF_TOP/build/$preset"
  local log="$dir.log"
  mkdir -p "$MMF_TOP/build"
  exec {MMF_LOCK_FD}>"$MMF_TOP/build/.$preset.lock"
  if ! flock -n "$MMF_LOCK_FD"; then
    say "build $preset: waiting for another build of it in this clone"
    flock "$MMF_LOCK_FD"
  fi
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    say "configure $preset"
    (cd "$MMF_TOP" && mmf_run cmake --preset "$preset") >"$log" 2>&1 ||
      { cat "$log" >&2; die "configure of preset $preset failed (log: $log)"; }
  fi
  say "build $preset"
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  (cd "$MMF_TOP" && mmf_run cmake --build --preset "$preset" -j "$MMF_JOBS" "${targets[@]}") >>"$log" 2>&1 ||
    { tail -50 "$log" >&2; die "build of preset $preset failed (log: $log)"; }
  exec {MMF_LOCK_FD}>&-
}
# gbfilter_ready: export MMF_GBFILTER, the helper that checks a --filter with
# libbenchmark's own engine (bench/gbfilter.cc), building it when not given.
gbfilter_ready() {
  [ -z "${MMF_GBFILTER:-}" ] || return 0
  build_preset release mmf_gbfilter
  export MMF_GBFILTER="$MMF_TOP/build/release/mmf_gbfilter"
}
