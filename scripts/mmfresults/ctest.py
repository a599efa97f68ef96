"""What a CTest run ran: the JUnit XML that `ctest --output-junit` writes.

scripts/test prints this after each ctest run: the count of tests run,
passed, failed and skipped, and every skip with its reason (the test's own
"skipped: ..." line, else its last line of output). Zero tests is a failure:
a label that selects nothing must not pass.
"""
import xml.etree.ElementTree as ET

from . import files
from .runfolder import parser


def read_junit(path):
    """[(name, status, output)] with status run|fail|skipped|notrun."""
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise files.ResultError(f"{path}: CTest JUnit file missing (did ctest run?)") from None
    except ET.ParseError as e:
        raise files.ResultError(f"{path}: CTest JUnit file unreadable ({e})") from None
    out = []
    for tc in root.iter("testcase"):
        status = tc.get("status", "run")
        text = (tc.findtext("system-out") or "").strip()
        if tc.find("failure") is not None:
            status = "fail"
        elif tc.find("skipped") is not None or status in ("notrun", "disabled"):
            status = "skipped"
        out.append((tc.get("name", "?"), status, text))
    return out


def skip_reason(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for l in lines:
        if "skipped" in l.lower() or "skip:" in l.lower():
            return l
    return lines[-1] if lines else "no reason printed"


def main(argv):
    ap = parser("ctest-summary", "Count what a ctest run ran; exit 1 on failures, 2 when it ran nothing.")
    ap.add_argument("junit")
    ap.add_argument("--what", default="ctest")
    ap.add_argument("--skips-out", metavar="FILE",
                    help="also write each skip as a line 'TEST: REASON' to FILE (for a final summary)")
    a = ap.parse_args(argv)
    rows = read_junit(a.junit)
    passed = sum(1 for _, s, _ in rows if s == "run")
    failed = [n for n, s, _ in rows if s == "fail"]
    skipped = [(n, t) for n, s, t in rows if s == "skipped"]
    for n, t in skipped:
        print(f"  skipped: {n}: {skip_reason(t)}")
    if a.skips_out:
        files.write_text(a.skips_out, "".join(f"{n}: {skip_reason(t)}\n" for n, t in skipped))
    for n in failed:
        print(f"  FAILED: {n}")
    print(f"{a.what}: {len(rows)} tests, {passed} passed, {len(failed)} failed, {len(skipped)} skipped")
    if not rows:
        print(f"{a.what}: no test was selected: nothing was tested")
        return 2
    if passed == 0:
        print(f"{a.what}: every selected test was skipped: nothing was tested")
        return 1
    return 1 if failed else 0
