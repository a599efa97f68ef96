# Shared helpers of the scripts (sourced, not run).
# shellcheck shell=bash

MMF_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MMF_JOBS=${MMF_JOBS:-$(nproc 2>/dev/null || echo 2)}

# say MSG: a progress line with the elapsed seconds of this script.
MMF_T0=${MMF_T0:-$SECONDS}
say() { printf '[%4ds] %s\n' "$((SECONDS - MMF_T0))" "$*"; }
# die MSG [STATUS]: print "script: MSG" on stderr and exit STATUS (default 1).
die() { printf '%s: %s\n' "$(basename "$0")" "$1" >&2; exit "${2:-1}"; }

# build_preset NAME [TARGET...]: configure (once) and build a CMake preset.
build_preset() {
  local preset=$1; shift
  local dir="$MMF_TOP/build/$preset"
  local log="$dir.log"
  mkdir -p "$MMF_TOP/build"
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    say "configure $preset"
    (cd "$MMF_TOP" && cmake --preset "$preset") >"$log" 2>&1 ||
      { cat "$log" >&2; die "configure of preset $preset failed (log: $log)"; }
  fi
  say "build $preset"
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  (cd "$MMF_TOP" && cmake --build --preset "$preset" -j "$MMF_JOBS" "${targets[@]}") >>"$log" 2>&1 ||
    { tail -50 "$log" >&2; die "build of preset $preset failed (log: $log)"; }
}

# new_run_dir: make results/runs/<timestamp>/ and print its path.
new_run_dir() {
  local d
  d="$MMF_TOP/results/runs/$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$d"
  printf '%s\n' "$d"
}
