#!/usr/bin/env bash
# unit.options_py - scripts/mmfresults/options.py reads the same option words
# as the C compiler sees in bench/common/mmf_cli.h (every table, in order),
# and exposes the named tuples.
# usage: options_py_test.sh PATH/TO/print_words TOP
set -euo pipefail
if [[ $# -ne 2 || $1 == --help ]]; then echo "usage: $0 PATH/TO/print_words TOP" >&2; exit 2; fi
c=$("$1")
py=$(PYTHONPATH="$2/scripts" /usr/bin/python3 -c '
from mmfresults import options as o
for name, words in o.tables().items():
    for w in words:
        print(name, w)
assert o.FLAGS == o.tables()["FLAGS"] and o.NO_FLAGS == "none", "named tuples"
assert o.OPTION_SETS == ("default", "seed_compat"), o.OPTION_SETS
')
n=$(printf '%s\n' "$c" | wc -l)
if [[ $c != "$py" || $n -lt 10 ]]; then
  echo "FAIL: C and Python differ (or too few words: $n)"
  diff <(printf '%s\n' "$c") <(printf '%s\n' "$py") || true
  exit 1
fi
echo "options: $n words, the same in C and Python"
