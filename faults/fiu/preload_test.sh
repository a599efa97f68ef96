#!/usr/bin/env bash
# fault.preload - the plain library (no failure points compiled in) run
# under libfiu's POSIX preload (fiu-run -x): the errors libc's wrappers
# inject surface from the public API exactly, the handle is left as the
# header says, and the synced file is intact afterwards.
#
# libfiu's preload wraps mmap, msync, ftruncate, fsync, fdatasync and
# munmap, but NOT mremap or posix_fallocate (glibc calls the fallocate
# syscall inside itself), and its munmap wrapper reports success: so the
# default grow (MMF_RESERVE: posix_fallocate + mremap) cannot be failed
# from outside, and munmap failures are invisible. That is why the library
# carries its own points (mmf/os/*, test_matrix); grow_reserve and zero
# below show both gaps.
#
# usage: preload_test.sh PROBE     (exit 77 = skipped)
set -euo pipefail

if [[ $# -ne 1 || $1 == --help ]]; then
	echo "usage: $0 PATH/TO/preload_probe" >&2
	exit 2
fi
probe=$1
if ! command -v fiu-run >/dev/null; then
	echo "SKIP: fiu-run (fiu-utils) is not installed"
	exit 77
fi
dir=$(mktemp -d /tmp/mmf-preload-XXXXXX)
trap 'rm -rf "$dir"' EXIT
# A sanitized build (the dev preset): ASan must come first in LD_PRELOAD
# and fiu-run overwrites LD_PRELOAD, so fiu-run runs a shell that puts
# libasan in front of libfiu's preload libraries and execs the probe.
# fiu_run_preload.so leaks its FIU_ENABLE copy: suppressed for LSan.
asan=$(ldd "$probe" | awk '/libasan/ { print $3 }')
under=()
if [[ -n $asan ]]; then
	under=(sh -c 'LD_PRELOAD="$0 $LD_PRELOAD" exec "$@"' "$asan")
	supp="$dir/lsan.supp"
	echo "leak:fiu_run_preload.so" >"$supp"
	export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$supp:print_suppressions=0"
	echo "sanitized probe: $asan preloaded first"
fi

failures=0
# check POINT ERRNO MODE EXPECTED_RC [changes]: "changes" = the call
# succeeds and legitimately cuts the synced data, so it is not verified.
check() {
	local res=ok
	"$probe" setup "$dir"
	if ! fiu-run -x -f "" -c "enable name=$1,failinfo=$2" \
		${under[@]+"${under[@]}"} "$probe" "$3" "$dir" "$4"; then
		res=FAIL
	fi
	if [[ ${5:-} != changes ]] && ! "$probe" verify "$dir"; then
		res="FAIL (synced data)"
	fi
	[[ $res == ok ]] || failures=$((failures + 1))
	printf '%-24s errno %-3s %-13s want %4s: %s\n' "$1" "$2" "$3" "$4" "$res"
}

check posix/mm/mmap            12 open         -12
check posix/mm/msync            5 sync          -5
check posix/mm/msync           28 sync         -28
check posix/io/rw/ftruncate    28 grow         -28
check posix/io/rw/ftruncate     5 shrink        -5
check posix/io/rw/ftruncate     5 zero          -5
check posix/io/sync/fsync       5 create        -5
check posix/io/sync/fdatasync   5 sync_empty    -5
# The default grow (MMF_RESERVE) is posix_fallocate + mremap: neither is
# wrapped, so with ftruncate failing it still succeeds.
check posix/io/rw/ftruncate    28 grow_reserve   0
# The munmap wrapper reports success: the shrink to 0 "succeeds" (and
# really cuts the file), the injected failure never shows.
check posix/mm/munmap          22 zero           0 changes
preload_lib=$(dirname "$(command -v fiu-run)")/../lib/fiu/fiu_posix_preload.so
if [[ -r $preload_lib ]]; then
	for call in mremap fallocate; do
		if strings "$preload_lib" | grep -q "^posix/.*/$call\$"; then
			echo "note: libfiu's preload now wraps $call"
		else
			echo "not wrapped by libfiu's preload: $call"
		fi
	done
fi

echo "preload: $failures failure(s)"
[[ $failures -eq 0 ]]
