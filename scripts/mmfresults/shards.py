"""Sharded campaigns: one campaign split over N machines (or jobs), merged back.

A shard is "I/N": the I-th of N (0 <= I < N <= 1000, 0-based like a GitHub
matrix index or Kubernetes' JOB_COMPLETION_INDEX). What each stage's shard runs:

- bench (scripts/bench --shard I/N): the benchmark rows the selection
  (--drivers, --filter, --profile) lists, numbered in driver order, row k
  going to shard k mod N. The merged shards hold exactly the rows of one
  run with the same selection.
- crash-kill (scripts/crash-kill --shard I/N --seed S): cycles first..first+
  cycles-1, cycle c going to shard (c - first) mod N. A cycle's random
  choices come from (S, c) alone, so every cycle is the one the unsharded
  campaign of seed S runs; only the kill instants differ, as between any
  two runs.
- crash-vm (scripts/crash-vm --shard I/N --seed S): its cuts c = 0 ..
  cycles + device-errors - 1 (plain cycles, then device-error cuts) on every
  filesystem, cut c going to shard c mod N; the negative controls (--teeth)
  run in shard 0. A cut's choices come from (S, cycle, writer) alone.
- soak (fault_soak --shard I/N --seed S --ops OPS): one soak is a single
  random stream, so a shard runs its own: seed splitmix64(S + I) (Steele,
  Lea & Flood 2014; the first output of a splitmix64 generator whose state
  is S + I, as faults/fiu/fault_util.c's fu_rand) and OPS/N operations (the
  first OPS mod N shards one more). The campaign of (S, OPS, N) is the N
  shards; it is the same however and wherever they run (a shard killed and
  rerun gives its digest again).

Every shard writes DIR/shard-<stage>.json (schema mmf-shard/1: stage, index,
count, campaign seed, the shard's seed, the selection). `history merge-shards
DIR... --out DIR` checks that the folders hold each shard 0..N-1 of one
campaign exactly once (same N, seed and selection; every folder complete)
and writes one run folder: bench rows are the union of the shards' rows
(each driver's JSON, the summary and bench.json made from them as for one
run); stage records' counts are summed (counts of kinds, such as the kills
in grow / in sync / by timer, are histograms and add up the same way),
except those of NOT_SUMMED, which every shard has the same (crash-vm's
filesystems); nothing is averaged. The verdict is the worst shard's; the soak's digest is
the list of the shards' digests in index order.
"""
import glob
import math
import os
import re
import shutil

from . import files
from .runfolder import key_values, parser

SHARD_SCHEMA = "mmf-shard/1"
MAX_SHARDS = 1000
MASK64 = (1 << 64) - 1
# Counts that describe the selection every shard covers, not work divided
# among the shards (crash-vm: the filesystems each shard cuts on): kept, not
# summed, and equal in every shard.
NOT_SUMMED = ("filesystems",)
# Worst first: the merged verdict is the worst of the shards'.
VERDICT_ORDER = ("fail", "interrupted", "pass", "skipped")


def parse_shard(text):
    """'I/N' -> (I, N); ValueError with one line otherwise."""
    m = re.fullmatch(r"([0-9]{1,4})/([0-9]{1,4})", text or "")
    if not m:
        raise ValueError(f"--shard must be I/N (0 <= I < N <= {MAX_SHARDS}), got '{text}'")
    i, n = int(m.group(1)), int(m.group(2))
    if not 1 <= n <= MAX_SHARDS or i >= n:
        raise ValueError(f"--shard must be I/N with 0 <= I < N <= {MAX_SHARDS}, got '{text}'")
    return i, n


def splitmix64(x):
    """The first output of splitmix64 with state x (fault_util.c's fu_rand)."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def shard_seed(campaign_seed, index):
    return splitmix64((campaign_seed + index) & MASK64)


def shard_ops(ops, index, count):
    return ops // count + (1 if index < ops % count else 0)


def record_path(folder, stage):
    return os.path.join(folder, f"shard-{stage}.json")


# --- the shard command (used by the scripts) ------------------------------------

def main(argv):
    """shard check I/N | seed SEED I/N | pick I/N (names on stdin) | record DIR ..."""
    ap = parser("shard", "Shards of a campaign: check I/N, a shard's seed, a shard's rows, "
                "its record (see scripts/mmfresults/shards.py).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="print 'I N' of a valid I/N")
    c.add_argument("shard")
    s = sub.add_parser("seed", help="the seed of shard I of a campaign seed: splitmix64(S + I)")
    s.add_argument("campaign_seed")
    s.add_argument("shard")
    p = sub.add_parser("pick", help="the lines of stdin numbered k (from --offset) with "
                       "k mod N == I")
    p.add_argument("shard")
    p.add_argument("--offset", type=int, default=0, help="the number of the first line")
    r = sub.add_parser("record", help="write DIR/shard-STAGE.json")
    r.add_argument("folder")
    r.add_argument("--stage", required=True)
    r.add_argument("--shard", required=True)
    r.add_argument("--campaign-seed")
    r.add_argument("--seed")
    r.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="a part of the selection all shards share (e.g. filter=...)")
    r.add_argument("--count", action="append", default=[], metavar="K=N",
                   help="what this shard ran (e.g. rows=3)")
    a = ap.parse_args(argv)
    try:
        i, n = parse_shard(a.shard)
    except ValueError as e:
        ap.error(str(e))
    if a.cmd == "check":
        print(i, n)
    elif a.cmd == "seed":
        print(shard_seed(_seed(ap, a.campaign_seed), i))
    elif a.cmd == "pick":
        import sys
        lines = [l.rstrip("\n") for l in sys.stdin if l.strip()]
        for k, line in enumerate(lines, a.offset):
            if k % n == i:
                print(line)
    else:
        params = key_values(ap, a.param, "--param", str)
        counts = key_values(ap, a.count, "--count")
        doc = {"schema": SHARD_SCHEMA, "stage": a.stage, "index": i, "count": n,
               "campaign_seed": None if a.campaign_seed is None else str(_seed(ap, a.campaign_seed)),
               "seed": None if a.seed is None else str(_seed(ap, a.seed)),
               "params": params, "counts": counts}
        files.write_json(record_path(a.folder, a.stage), doc)
    return 0


def _seed(ap, text):
    if not re.fullmatch(r"[0-9]{1,20}", text) or int(text) > MASK64:
        ap.error(f"a seed is an unsigned 64-bit number, got '{text}'")
    return int(text)


# --- merging --------------------------------------------------------------------

def load_shards(folders):
    """{stage: [(folder, record), ...] sorted by index}, every folder complete.
    Raises ResultError for an incomplete folder, a folder with no shard record,
    and a campaign whose shards do not fit (another N, seed or selection; a
    shard twice; a shard missing)."""
    by_stage = {}
    for folder in folders:
        if not os.path.isdir(folder):
            raise files.ResultError(f"{folder}: no such folder")
        files.check_complete(folder)
        recs = sorted(glob.glob(os.path.join(folder, "shard-*.json")))
        if not recs:
            raise files.ResultError(f"{folder}: no shard record (shard-<stage>.json): "
                                    "not the output of a --shard run")
        for p in recs:
            doc = files.load_json(p, "shard record")
            if doc.get("schema") != SHARD_SCHEMA:
                raise files.ResultError(f"{p}: not a shard record (schema {doc.get('schema')!r})")
            by_stage.setdefault(doc["stage"], []).append((folder, doc))
    for stage, shards in by_stage.items():
        first = shards[0][1]
        for folder, doc in shards:
            for key in ("count", "campaign_seed", "params"):
                if doc.get(key) != first.get(key):
                    raise files.ResultError(
                        f"{stage}: {folder} is another campaign ({key} {doc.get(key)!r}, "
                        f"not {first.get(key)!r} as in {shards[0][0]})")
        seen = {}
        for folder, doc in shards:
            if doc["index"] in seen:
                raise files.ResultError(f"{stage}: shard {doc['index']}/{doc['count']} twice "
                                        f"({seen[doc['index']]} and {folder})")
            seen[doc["index"]] = folder
        missing = [i for i in range(first["count"]) if i not in seen]
        if missing:
            raise files.ResultError(
                f"{stage}: shard(s) {', '.join(map(str, missing))} of {first['count']} missing: "
                "the merged campaign would be incomplete")
        shards.sort(key=lambda fd: fd[1]["index"])
    return by_stage


def worst(verdicts):
    return min(verdicts, key=VERDICT_ORDER.index)


def merge_records(stage, shards):
    """The stage record of the merged campaign: counts summed, verdict worst."""
    recs = [files.read_stage(folder, stage) for folder, _ in shards]
    counts = {}
    for (folder, _), r in zip(shards, recs):
        for k, v in (r.get("counts") or {}).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if k not in NOT_SUMMED:
                counts[k] = counts.get(k, 0) + v
            elif counts.setdefault(k, v) != v:
                raise files.ResultError(f"{stage}: {folder} counts {k}={v}, another shard "
                                        f"{counts[k]}: not one campaign")
    n = len(shards)
    first = shards[0][1]
    seed = f", campaign seed {first['campaign_seed']}" if first.get("campaign_seed") else ""
    bad = [f"shard {doc['index']}: {r.get('reason', '')}" for (_, doc), r in zip(shards, recs)
           if r["verdict"] in ("fail", "interrupted")]
    reason = f"{n} shards merged{seed}" + (f"; {'; '.join(bad)}" if bad else "")
    verdict = worst([r["verdict"] for r in recs])
    per_fs = {}     # crash-vm: per filesystem, summed like the counts
    for r in recs:
        for fs, f in (r.get("per_fs") or {}).items():
            into = per_fs.setdefault(fs, {})
            for k, v in f.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    into[k] = into.get(k, 0) + v
    if stage == "crash-vm" and verdict == "pass":
        from .crashvm import untested
        empty = untested(per_fs)
        if empty:
            verdict = "fail"
            reason += (f"; the campaign tested nothing on {', '.join(empty)} (no crash state, "
                       "no ack, or no device error that reached the writer)")
    extra = {"seconds": round(sum(float(r.get("seconds") or 0) for r in recs), 1),
             "shards": [{"index": doc["index"], "folder": folder, "verdict": r["verdict"],
                         "seed": doc.get("seed"), **({"digest": r["digest"]} if "digest" in r else {})}
                        for (folder, doc), r in zip(shards, recs)]}
    if any("digest" in r for r in recs):
        extra["digest"] = " ".join(str(r.get("digest")) for r in recs)
    if per_fs:
        extra["per_fs"] = per_fs
    return verdict, reason, counts, extra


def merge_bench(shards, out):
    """Every driver's JSON of the shards into one per driver under out (the
    rows of a benchmark come from one shard only), the logs concatenated,
    context.json from shard 0. Returns the drivers merged."""
    drivers = {}
    for folder, doc in shards:
        for p in sorted(glob.glob(os.path.join(folder, "bench_*.json"))):
            drivers.setdefault(os.path.basename(p)[:-5], []).append((doc["index"], p))
    owner = {}
    for d, parts in sorted(drivers.items()):
        merged = None
        for index, p in parts:
            g = files.load_gbench(p)
            for row in g["benchmarks"]:
                name = row.get("run_name") or row["name"]
                if owner.setdefault((d, name), index) != index:
                    raise files.ResultError(f"{d}: {name} ran in shards {owner[(d, name)]} "
                                            f"and {index}: not one campaign's partition")
                # Google Benchmark writes NaN (a constant counter's cv
                # aggregate); JSON has none: null, as judge.py does for inf.
                for k, v in row.items():
                    if isinstance(v, float) and not math.isfinite(v):
                        row[k] = None
            if merged is None:
                merged = g
            else:
                merged["benchmarks"].extend(g["benchmarks"])
        files.write_json(os.path.join(out, d + ".json"), merged)
        logs = []
        for index, p in parts:
            log = p[:-5] + ".log"
            if os.path.exists(log):
                with open(log, errors="replace") as f:
                    logs.append(f"== shard {index} ==\n" + f.read())
        files.write_text(os.path.join(out, d + ".log"), "".join(logs))
    ctx = os.path.join(shards[0][0], "context.json")
    if os.path.exists(ctx):
        doc = files.load_json(ctx, "context")
        doc["shards"] = len(shards)
        files.write_json(os.path.join(out, "context.json"), doc)
    return sorted(drivers)


def main_merge(argv):
    """history merge-shards DIR... --out DIR: one run folder from shard folders."""
    ap = parser("history merge-shards", "Merge the folders of a sharded campaign (each "
                "shard 0..N-1 once, from --shard runs) into one run folder: bench rows "
                "united, stage counts summed, verdict the worst (scripts/mmfresults/shards.py).")
    ap.add_argument("folders", nargs="+", metavar="DIR")
    ap.add_argument("--out", required=True, help="the merged run folder (created; must be "
                    "empty or missing)")
    a = ap.parse_args(argv)
    by_stage = load_shards(a.folders)
    out = a.out
    if os.path.isdir(out) and os.listdir(out):
        ap.error(f"--out {out}: not empty")
    os.makedirs(out, exist_ok=True)
    # The folder is marked until the merge is done; this process owns the
    # marker (its token), so the summary below may read the folder.
    marker = os.path.join(out, files.MARKER)
    token = os.environ.setdefault("MMF_RUN_TOKEN", f"merge-shards-{os.getpid()}-{os.urandom(4).hex()}")
    files.write_text(marker, f"merging shards\ntoken={token}\n")
    verdicts = []
    for stage, shards in sorted(by_stage.items()):
        if stage == "bench":
            drivers = merge_bench(shards, out)
            from . import summary
            rc = summary.main_summary([out, "--write", os.path.join(out, "summary.txt"),
                                       "--stage", "bench", "--drivers", " ".join(drivers)])
            rec = files.read_stage(out, "bench")
            v, reason, counts, extra = merge_records(stage, shards)
            # The summary's counts are those of one run over the merged rows;
            # they must be the shards' sums.
            for k in ("benchmarks", "repetitions"):
                if rec["counts"].get(k) != counts.get(k):
                    raise files.ResultError(f"bench: merged {k} {rec['counts'].get(k)} is not "
                                            f"the shards' sum {counts.get(k)}")
            rec["shards"] = extra["shards"]
            files.write_json(files.stage_path(out, "bench"), rec)
            v = rec["verdict"] if rc in (0, 1, 77) else "fail"
        else:
            v, reason, counts, extra = merge_records(stage, shards)
            files.write_stage(out, stage, v, reason, counts, **extra)
        verdicts.append(v)
        first = shards[0][1]
        print(f"{stage}: {len(shards)} shards of {first['count']} merged: {v}; "
              + ", ".join(f"{k}={v}" for k, v in sorted(files.read_stage(out, stage)["counts"].items())
                          if isinstance(v, (int, float))))
    files.write_json(os.path.join(out, "shards.json"),
                     {"schema": SHARD_SCHEMA, "merged_from": [os.path.abspath(f) for f in a.folders],
                      "stages": {s: len(sh) for s, sh in by_stage.items()}})
    # The machine: kept when every shard ran on the same one (same
    # machine.json); else none, and history ingest fingerprints from context.
    machines = {files.load_json(os.path.join(f, "machine.json"), "machine identity")
                .get("fingerprint") for f in a.folders
                if os.path.exists(os.path.join(f, "machine.json"))}
    if len(machines) == 1 and all(os.path.exists(os.path.join(f, "machine.json")) for f in a.folders):
        shutil.copyfile(os.path.join(a.folders[0], "machine.json"), os.path.join(out, "machine.json"))
    elif machines:
        print(f"the shards ran on {len(machines)} machines: the merged folder has no machine.json")
    os.unlink(marker)
    print(f"merged {len(a.folders)} folders into {out}")
    return 0 if all(v in ("pass", "skipped") for v in verdicts) else 1
