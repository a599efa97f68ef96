#!/usr/bin/env bash
# fault.soak_replay - same seed, same run: two short soaks with one seed
# must print the same last line (counts and digest), and it must say OK.
# usage: soak_replay.sh PATH/TO/fault_soak [OPS] [SEED]
set -euo pipefail
if [[ $# -lt 1 || $1 == --help ]]; then
	echo "usage: $0 PATH/TO/fault_soak [OPS] [SEED]" >&2
	exit 2
fi
soak=$1 ops=${2:-2000} seed=${3:-7}
a=$("$soak" --ops "$ops" --seed "$seed" | tail -n 1)
b=$("$soak" --ops "$ops" --seed "$seed" | tail -n 1)
printf 'first:  %s\nsecond: %s\n' "$a" "$b"
[[ $a == "$b" ]] || { echo "FAIL: the runs differ"; exit 1; }
[[ $a == *" OK" ]] || { echo "FAIL: the run did not pass"; exit 1; }
echo "replay: identical"
