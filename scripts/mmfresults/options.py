"""The option words of the harness, read from the one table in C.

bench/common/mmf_cli.h holds every word an option of the harness takes
(growth policies, flags, option sets, append APIs, profiles) as X-macro
tables:

    #define MMF_CLI_GROWTH(X) \\
        X(double, MMF_GROW_DOUBLE, "...") \\
        ...

This module parses those lines (a regex, no compiler), so C and Python share
one spelling. Each table is a tuple of words in the header's order:

    GROWTH       ("double", "exact", "chunk", "seed")
    FLAGS        ("reserve", "populate", "sync_before_grow", "stable")
    NO_FLAGS     "none"      (the flag list that sets no flag)
    OPTION_SETS  ("default", "seed_compat")
    APPEND_APIS  ("allocate_slice", "append_buffer")
    PROFILES     ("quick", "full")

tables() gives every table by its name without the MMF_CLI_ prefix.
"""
import os
import re

HEADER = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "bench", "common", "mmf_cli.h")

_DEFINE = re.compile(r"^#define MMF_CLI_([A-Z_]+)\(X\)")
_ROW = re.compile(r"^\s*X\((\w+),")


def tables(path=HEADER):
    """{"GROWTH": ("double", ...), ...} from the X-macro blocks of path."""
    out, name = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = _DEFINE.match(line)
            if m:
                name = m.group(1)
                out[name] = []
            elif name:
                r = _ROW.match(line)
                if r:
                    out[name].append(r.group(1))
            if name and not line.rstrip().endswith("\\"):
                name = None
    return {k: tuple(v) for k, v in out.items()}


_T = tables()
GROWTH = _T["GROWTH"]
FLAGS = _T["FLAGS"]
NO_FLAGS = _T["FLAG_WORDS"][0]
OPTION_SETS = _T["OPTION_SETS"]
APPEND_APIS = _T["APPEND_APIS"]
PROFILES = _T["PROFILES"]
