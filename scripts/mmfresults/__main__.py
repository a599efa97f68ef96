"""python3 -m mmfresults COMMAND [ARGS...]: the harness's one results module.

The shell scripts call it (through mmf_py in scripts/lib.sh, with Debian's
/usr/bin/python3); each command is one row of COMMANDS below. Every command
prints one-line errors (never a traceback) and exits 0 ok, 1 failed verdict
or unusable input, 2 bad usage.
"""
import importlib
import signal
import sys

from .files import ResultError

# name: (module, function, one-line help). A command is one row here.
COMMANDS = {
    "stage": ("runfolder", "main_stage", "write a stage record: stage DIR NAME VERDICT [--reason R] [--count K=N]..."),
    "stage-settle": ("runfolder", "main_stage_settle", "after a stage: keep or make its record from the exit status"),
    "stage-reason": ("runfolder", "main_stage_reason", "print the reason of a stage record"),
    "run-summary": ("runfolder", "main_run_summary", "print the verdict of each stage of a run folder; exit 1 if any failed"),
    "check-run": ("runfolder", "main_check_run", "exit 1 with one line if a run folder is incomplete or holds a corrupt result file"),
    "ctest-summary": ("ctest", "main", "count what a ctest run ran (its --output-junit file); skips with reasons"),
    "context": ("summary", "main_context", "write DIR/context.json (scripts/bench)"),
    "summary": ("summary", "main_summary", "print the one-screen benchmark summary of DIR (and its stage record)"),
    "check-drivers": ("summary", "main_check_drivers", "per driver its repetitions; exit 1 if a driver produced none"),
    "fio-check": ("fio", "main_fio_check", "the fio cross-check table and verdict (scripts/fio-check)"),
    "fio-setup": ("fio", "main_fio_setup", "the disk, device numbers and interrupt CPU of a folder (scripts/fio-check)"),
    "judge": ("judge", "main", "judge base against head benchmark runs (scripts/compare)"),
    "judge-options": ("judge", "main_options", "check scripts/compare's --threshold/--alpha/--filter and the judge's tools"),
    "judge-baseline": ("judge", "main_baseline", "check a baseline folder and import its rows matching --filter"),
    "judge-selftest": ("judge", "main_selftest", "the line of one scripts/compare --self-test comparison"),
    "crashvm": ("crashvm", "main", "one power-cut cycle and its pieces (scripts/crash-vm)"),
    "report": ("cli_report", "main", "the capacity-planning report and --validate (scripts/report)"),
    "history": ("history", "main", "the performance history: ingest, merge, detect, dashboard (scripts/history)"),
    "shard": ("shards", "main", "shards of a campaign: check I/N, a shard's seed or rows, its record (--shard)"),
}


def usage(out):
    out.write("usage: python3 -m mmfresults COMMAND [ARGS...]\n\ncommands:\n")
    for name, (_, _, text) in COMMANDS.items():
        out.write(f"  {name:<12} {text}\n")


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if not argv or argv[0] in ("-h", "--help"):
        usage(sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    row = COMMANDS.get(argv[0])
    if row is None:
        sys.stderr.write(f"mmfresults: unknown command '{argv[0]}' (see --help)\n")
        return 2
    mod = importlib.import_module(f".{row[0]}", __package__)
    try:
        return getattr(mod, row[1])(argv[1:]) or 0
    except ResultError as e:
        sys.stderr.write(f"{argv[0]}: {e}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{argv[0]}: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
