#!/usr/bin/env python3
"""The scaling table of docs/cluster.md: a sharded run of a large benchmark through the workflow.

For each part count n, workflow/Snakefile runs the pair (benchmark, plugin) as n parts
(`cpbench run --shard i/n`, rule run_part) and a merge (`cpbench merge`, rule run_merge) into a
fresh site, one job at a time (`--jobs 1`: on a one-node cluster the parts queue, so each part's
own time and the critical path are what the table reports). The unsharded run (rule run) is
measured the same way. Each job's wall time and peak memory come from cpbench's own first output
line (a part prints "(… s, peak … MiB)", a run or merge its result's timing); Snakemake's job
benchmark files are not used for them (their CPU and memory are sampled, and missed most of a
2-thread part's CPU time here). Every merged result must equal the unsharded one (timing aside)
or the script fails.

    ci/measure-shards.py --cpbench target/release/cpbench [--profile slurm] [--parts 1,2,4,8]
        [--benchmarks-dir ci/scale] [--benchmark jump-compound-shape] [--plugin cellprofiler]
        [--work DIR [--report-only]]

Prints the markdown table; with --profile slurm the cluster of ci/slurm.sh must be up
(SLURM_CONF exported). The sites stay under --work (default: a temporary folder, printed).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# "(58.7 s, peak 7166 MiB)" of a run or merge, "(1 sharded task(s); 47.3 s, peak 7010 MiB)" of a part.
FIRST = re.compile(r"([\d.]+) s(?:, peak (\d+) MiB)?\)")


def first_line(log):
    with open(log) as f:
        return f.readline().strip()


def cost(log):
    """Wall seconds and peak MiB from a job log's first line."""
    m = FIRST.search(first_line(log))
    if not m:
        sys.exit(f"measure-shards: no timing in the first line of {log}: {first_line(log)}")
    return float(m.group(1)), (int(m.group(2)) if m.group(2) else None)


def result_without_timing(site):
    found = [p for p in (site / "runs").rglob("*.json") if not p.name.endswith(".figures.json")]
    if len(found) != 1:
        sys.exit(f"measure-shards: expected one result under {site}/runs, found {found}")
    d = json.loads(found[0].read_text())
    d.pop("timing")
    figures = found[0].with_name(found[0].name[: -len(".json")] + ".figures.json").read_bytes()
    return json.dumps(d, sort_keys=True), figures


def workflow(args, site, shards):
    seconds = site.parent / f"{site.name}.seconds"
    if args.report_only:
        return float(seconds.read_text()) if seconds.exists() else float("nan")
    cfg = site.parent / f"{site.name}.yaml"
    mem = args.mem_mb
    lines = [
        f"cpbench: {args.cpbench}",
        f"out: {site}",
        f"benchmarks_dir: {args.benchmarks_dir}",
        f"benchmarks: [{args.benchmark}]",
        f"plugin_dirs: [{ROOT / 'plugins'}]",
        f"plugins: [{args.plugin}]",
        "audits: []",
        f"shard_runs: {{{args.benchmark}: {shards}}}" if shards else "shard_runs: {}",
        "resources:",
        f"  run: {{threads: {args.threads}, mem_mb: {mem}, runtime: 60}}",
        f"  run_part: {{threads: {args.threads}, mem_mb: {mem}, runtime: 60}}",
        f"  run_merge: {{threads: {args.threads}, mem_mb: {mem}, runtime: 60}}",
        "  leaderboard: {threads: 1, mem_mb: 1000, runtime: 10}",
    ]
    cfg.write_text("\n".join(lines) + "\n")
    t0 = time.monotonic()
    out = subprocess.run(
        [str(ROOT / ".venv-workflow/bin/snakemake"), "--snakefile", str(ROOT / "workflow/Snakefile"),
         "--directory", str(site.parent / f"{site.name}.wd"), "--profile",
         str(ROOT / "workflow/profiles" / args.profile), "--configfile", str(cfg), "--jobs", "1"],
        capture_output=True, text=True)
    total = time.monotonic() - t0
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
        sys.exit(f"measure-shards: the workflow failed for {shards or 'unsharded'}")
    seconds.write_text(f"{total:.1f}\n")
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpbench", required=True)
    ap.add_argument("--profile", default="slurm", choices=["slurm", "local"])
    ap.add_argument("--parts", default="1,2,4,8")
    ap.add_argument("--benchmarks-dir", default=str(ROOT / "ci/scale"))
    ap.add_argument("--benchmark", default="jump-compound-shape")
    ap.add_argument("--plugin", default="cellprofiler")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mem-mb", type=int, default=12000)
    ap.add_argument("--work")
    ap.add_argument("--report-only", action="store_true",
                    help="only read the sites an earlier run left in --work and print the table")
    args = ap.parse_args()
    args.cpbench = str(Path(args.cpbench).resolve())
    work = Path(args.work or tempfile.mkdtemp(prefix="cpbench-measure-shards."))
    work.mkdir(parents=True, exist_ok=True)
    print(f"measure-shards: working in {work}", file=sys.stderr)
    pair = (args.benchmark, args.plugin)

    site = work / "unsharded"
    total = workflow(args, site, 0)
    logs = site / ".workflow/logs"
    whole_wall, whole_rss = cost(next((logs / "run" / pair[0]).glob("*.log")))
    want = result_without_timing(site)
    print(f"measure-shards: unsharded: {whole_wall} s, workflow {total:.0f} s", file=sys.stderr)

    rows = []
    for n in [int(x) for x in args.parts.split(",")]:
        site = work / f"n{n}"
        total = workflow(args, site, n)
        logs = site / ".workflow/logs"
        parts = [cost(logs / "run_part" / pair[0] / pair[1] / f"{i}-of-{n}.log") for i in range(1, n + 1)]
        m_wall, m_rss = cost(next((logs / "run" / pair[0]).glob("*.log")))
        if result_without_timing(site) != want:
            sys.exit(f"measure-shards: the merged result of {n} parts differs from the unsharded one")
        rows.append((n, parts, (m_wall, m_rss), total))
        print(f"measure-shards: n = {n}: parts {[p[0] for p in parts]}, merge {m_wall} s, "
              f"workflow {total:.0f} s; merged == unsharded", file=sys.stderr)

    def mib(x):
        return f"{x / 1024:.2f} GiB" if x else "?"

    print("| parts n | wall per part, s | peak RSS per part | parts one after another, s "
          "| merge: wall s (peak RSS) | projected wall on n nodes = slowest part + merge, s "
          "| workflow on this node, s |")
    print("|---|---|---|---|---|---|---|")
    for n, parts, (mw, mr), total in rows:
        walls = " / ".join(f"{p[0]:.1f}" for p in parts)
        rss = mib(max((p[1] or 0) for p in parts))
        print(f"| {n} | {walls} | {rss} | {sum(p[0] for p in parts):.1f} | {mw:.1f} ({mib(mr)}) | "
              f"{max(p[0] for p in parts) + mw:.1f} | {total:.0f} |")
    print(f"| unsharded | {whole_wall:.1f} | {mib(whole_rss)} | | | {whole_wall:.1f} | |")


if __name__ == "__main__":
    main()
