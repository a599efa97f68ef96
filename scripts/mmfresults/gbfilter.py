"""Google Benchmark's --benchmark_filter, decided by libbenchmark itself.

A filter given to scripts/bench or scripts/compare is handed to the drivers,
so it must be checked, and a baseline's rows selected, by the engine the
drivers use: libbenchmark's (Debian's 1.7.1: std::regex, POSIX extended
grammar, strict C++; a leading '-' negates; "" and "all" select all).
Python's re, grep -E and glibc's regcomp each judge some patterns otherwise
('\\d', '(?i)x', lookaheads, '+a', '{1}'). The helper bench/gbfilter.cc
(target mmf_gbfilter) registers the names as benchmarks and lets the library
list what its filter selects.

  Filter(spec)           raises ValueError (one line) when libbenchmark
                         cannot compile spec; .pattern is spec
  Filter.select(names)   the set of names the filter selects (one helper run)
  helper()               the helper's path: $MMF_GBFILTER, else
                         build/release/mmf_gbfilter (scripts/bench and
                         scripts/compare build it first: build_preset release
                         mmf_gbfilter); raises ResultError when not built
"""
import os
import subprocess

from . import files

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT = os.path.join(TOP, "build", "release", "mmf_gbfilter")


def helper():
    exe = os.environ.get("MMF_GBFILTER") or DEFAULT
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise files.ResultError(f"{exe}: the benchmark filter helper is not built "
                                "(build_preset release mmf_gbfilter)")
    return exe


def missing():
    """A one-line reason the helper cannot be used, or None."""
    try:
        helper()
    except files.ResultError as e:
        return str(e)
    return None


class Filter:
    """A --benchmark_filter value that libbenchmark accepts."""

    def __init__(self, spec):
        self.pattern = spec
        self.select(())

    def select(self, names):
        """{name of names that the filter selects}; ValueError for a filter
        libbenchmark refuses, ResultError when the helper fails."""
        names = [n for n in names if n]
        if any("\n" in n for n in names):
            raise files.ResultError("a benchmark name holds a line break")
        try:
            r = subprocess.run([helper(), self.pattern], input="".join(n + "\n" for n in names),
                               capture_output=True, text=True, check=False)
        except OSError as e:
            raise files.ResultError(f"{helper()}: cannot run ({e.strerror})") from None
        if r.returncode == 2:
            why = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "refused"
            raise ValueError(why.removeprefix("mmf_gbfilter: "))
        if r.returncode != 0:
            first = (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[0]
            raise files.ResultError(f"{helper()}: {first}")
        return set(r.stdout.splitlines())
