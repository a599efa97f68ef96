"""unittest modules of the results package (CTest label `scripts`).

Their folders are made fresh (tempfile.mkdtemp: exclusive, 0700) under
$TMPDIR or /tmp; that parent is checked first like every scratch parent of
the harness (crashvm.check_dir: not a symlink, this user's or root's, sticky
if others can write in it), else the tests stop with one line, exit 2 (issue 16)."""
import sys
import tempfile

from mmfresults import crashvm, files

try:
    crashvm.check_dir(tempfile.gettempdir(), "TMPDIR (the tests' scratch parent)")
except files.ResultError as e:
    print(f"mmfresults tests: {e}", file=sys.stderr)
    raise SystemExit(2) from None
