#!/usr/bin/env bash
# unit.cli - the command-line conventions of mmf_cli.h, on every program
# built here: --help exits 0; an unknown option, a missing value, a bad value
# (a seed past 2^64-1, a word in the old spelling) is ONE line on stderr that
# names the option, exit 2, and nothing on stdout (no work started).
# usage: cli_test.sh NAME=PATH ...   (writer, verify, soak, loadgen; any subset)
set -euo pipefail
if [[ $# -eq 0 || $1 == --help ]]; then
  echo "usage: $0 NAME=PATH ... (NAME: writer verify soak loadgen)" >&2
  exit 2
fi
declare -A bin
for a in "$@"; do bin[${a%%=*}]=${a#*=}; done
fails=0 checks=0
# /tmp, like the C tests: not a $TMPDIR nobody checked
scratch=$(mktemp -d /tmp/mmf-cli.XXXXXX) && trap 'rm -rf "$scratch"' EXIT

# expect_usage NAME WORD ARGS...: exit 2, one stderr line containing WORD, no stdout
expect_usage() {
  local name=$1 word=$2 rc=0; shift 2
  "${bin[$name]}" "$@" >"$scratch/out" 2>"$scratch/err" || rc=$?
  checks=$((checks + 1))
  if [[ $rc -ne 2 || $(wc -l <"$scratch/err") -ne 1 || -s $scratch/out ]] ||
     ! grep -q -- "$word" "$scratch/err"; then
    echo "FAIL: $name $* -> exit $rc, stderr: $(head -c 300 "$scratch/err"), stdout $(wc -c <"$scratch/out") bytes"
    fails=$((fails + 1))
  fi
}
expect_help() {
  local name=$1 rc=0
  "${bin[$name]}" --help >"$scratch/out" 2>"$scratch/err" || rc=$?
  checks=$((checks + 1))
  if [[ $rc -ne 0 ]] || ! grep -q '^usage:' "$scratch/out"; then
    echo "FAIL: $name --help -> exit $rc"
    fails=$((fails + 1))
  fi
}

d=$scratch/w
if [[ -n ${bin[writer]:-} ]]; then
  expect_help writer
  expect_usage writer 'missing argument'
  expect_usage writer '--bogus' "$d" --bogus 1
  expect_usage writer '--keep' "$d" --keep
  expect_usage writer '--keep' "$d" --keep 0
  expect_usage writer '--keep' "$d" --keep 17
  expect_usage writer '--flags' "$d" --flags sync-before-grow
  expect_usage writer '--flags' "$d" --flags reserve,,populate
  expect_usage writer '--grow' "$d" --grow doubling
  expect_usage writer '--max-records' "$d" --max-records 99999999999999999999999
  expect_usage writer '--kill-at' "$d" --kill-in grow
  expect_usage writer 'unexpected' "$d" "$d"
  [[ ! -e $d ]] || { echo "FAIL: the writer made $d on a usage error"; fails=$((fails + 1)); }
fi
if [[ -n ${bin[verify]:-} ]]; then
  expect_help verify
  expect_usage verify '--per-file' "$scratch" --acked 1 --created 1 --deleted 0
  expect_usage verify '--acked' "$scratch" --acked 1x --created 1 --deleted 0 --per-file 5
  expect_usage verify '--deleting' "$scratch" --acked 1 --created 3 --deleted 2 --deleting 1 --per-file 5
fi
if [[ -n ${bin[soak]:-} ]]; then
  expect_help soak
  expect_usage soak '--seed' --seed 99999999999999999999999
  expect_usage soak '--seed' --seed 18446744073709551616
  expect_usage soak '--seed' --seed -1
  expect_usage soak '--seed' --seed 0x10
  expect_usage soak '--seed' --seed ''
  expect_usage soak '--seed' --seed
  expect_usage soak '--prob' --prob nan
  expect_usage soak '--prob' --prob 1
  expect_usage soak '--ops' --ops 0
  expect_usage soak '--ops' --ops=abc
  # the largest seed is accepted and printed as given; no seed: one drawn and printed
  expect_usage soak '--no-faults' --no-faults --prob 0.5
  line=$("${bin[soak]}" --ops 1 --no-faults --seed 18446744073709551615) line=${line%%$'\n'*}
  checks=$((checks + 1))
  [[ $line == *"seed=18446744073709551615 "* ]] || { echo "FAIL: soak max seed: $line"; fails=$((fails + 1)); }
  a=$("${bin[soak]}" --ops 1 --no-faults) b=$("${bin[soak]}" --ops 1 --no-faults)
  checks=$((checks + 1))
  [[ $a =~ seed=([0-9]+) ]] && sa=${BASH_REMATCH[1]}
  [[ $b =~ seed=([0-9]+) ]] && sb=${BASH_REMATCH[1]}
  [[ -n ${sa:-} && -n ${sb:-} && $sa != "$sb" ]] ||
    { echo "FAIL: soak without --seed must print a random seed: '$a' '$b'"; fails=$((fails + 1)); }
  # a soak that injected no failure tested nothing: exit 1 and says so,
  # its stage record fails; unless asked for no faults (--no-faults)
  mkdir "$scratch/rec"
  rc=0; out=$("${bin[soak]}" --ops 200 --prob 0 --seed 1 --record "$scratch/rec") || rc=$?
  checks=$((checks + 1))
  [[ $rc -eq 1 && $out == *"no failure was injected in 200 ops"* ]] &&
    grep -q '"verdict": "fail"' "$scratch/rec/soak.json" ||
    { echo "FAIL: soak --prob 0 -> exit $rc: ${out##*$'\n'}"; fails=$((fails + 1)); }
  rc=0; "${bin[soak]}" --ops 200 --no-faults --seed 1 >/dev/null || rc=$?
  checks=$((checks + 1))
  [[ $rc -eq 0 ]] || { echo "FAIL: soak --no-faults -> exit $rc"; fails=$((fails + 1)); }
fi
if [[ -n ${bin[loadgen]:-} ]]; then
  expect_help loadgen
  expect_usage loadgen 'required' --rec 64
  expect_usage loadgen '--rec' --dir "$d" --rec 4 --roll 4096
  expect_usage loadgen '--roll' --dir "$d" --rec 64 --roll 32
  expect_usage loadgen '--options' --dir "$d" --rec 64 --roll 4096 --options seed-compat
  expect_usage loadgen '--flags' --dir "$d" --rec 64 --roll 4096 --flags seed
  expect_usage loadgen '--rate' --dir "$d" --rec 64 --roll 4096 --rate -5
  expect_usage loadgen '--seconds' --dir "$d" --rec 64 --roll 4096 --seconds inf
  expect_usage loadgen '--files' --dir "$d" --rec 64 --roll 4096 --files 65
  expect_usage loadgen '--api' --dir "$d" --rec 64 --roll 4096 --api append
fi
if [[ $checks -eq 0 ]]; then echo "FAIL: nothing checked"; exit 1; fi
echo "cli: $checks checks, $fails failed"
[[ $fails -eq 0 ]]
