#!/usr/bin/env python3
"""Wall time and peak memory of cpbench at JUMP scale (issue 18), on synthetic tables of the
real shapes: `ci/scale/jump-orf-shape` (80,000 x 722) and `ci/scale/jump-compound-shape`
(800,000 x 737), each scored with the jump-* activity task's copairs settings (replicate wells
against the control wells of their plate, 10,000-draw p-values).

For each shape, three commands, each in its own process under GNU time (ci/measure.py):
  read  `cpbench info`: reading the Parquet table into the f32 matrix, nothing else
  map   `cpbench eval map` with the task's parameters: read + similarities + AP + null + q-values
  run   `cpbench run --benchmark … --plugin plugins/cellprofiler`: the whole pair, as a
        leaderboard runs it (plugin, scoring, result, figures, HTML report)
The table is generated first when missing (`cpbench simulate large` with the manifest's
arguments, not timed) and read once untimed so the page cache holds it.

Usage (through ci/measure-scale.sh, which builds the release binary):
  measure-scale.py --cpbench PATH [--shapes orf,compound] [--repeats 1] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import measure  # ci/measure.py, beside this script

ROOT = Path(__file__).resolve().parent.parent


def manifest(shape: str) -> tuple[Path, dict]:
    bench = ROOT / "ci" / "scale" / f"jump-{shape}-shape"
    return bench, tomllib.loads((bench / "benchmark.toml").read_text())


def ensure_data(binary: str, bench: Path, m: dict) -> Path:
    profiles = (bench / m["data"]["profiles"]).resolve()
    if not profiles.exists():
        t0 = time.perf_counter()
        subprocess.run([binary, "simulate", *m["data"]["simulate"], "--out", str(profiles.parent)],
                       check=True)
        print(f"  generated {profiles} in {time.perf_counter() - t0:.0f} s", flush=True)
    return profiles


def map_cmd(binary: str, profiles: Path, task: dict, out: Path) -> list[str]:
    ctl = task_control(task)
    return [binary, "eval", "map", "--profiles", str(profiles),
            "--pos-sameby", ",".join(task["pos_sameby"]),
            "--neg-sameby", ",".join(task.get("neg_sameby", [])),
            "--neg-diffby", ",".join(task["neg_diffby"]),
            "--reference", ctl, "--similarity", "cosine",
            "--null-size", str(task["null_size"]), "--seed", str(task["seed"]),
            "--threshold", str(task["threshold"]),
            "--out-ap", str(out / "ap.parquet"), "--out-map", str(out / "map.parquet")]


def task_control(task: dict) -> str:
    # The scale manifests name their controls by the perturbation column (value "control").
    return "Metadata_Perturbation=control"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpbench", required=True)
    ap.add_argument("--shapes", default="orf,compound")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    for shape in args.shapes.split(","):
        bench, m = manifest(shape)
        task = next(t for t in m["task"] if t["id"] == "activity")
        profiles = ensure_data(args.cpbench, bench, m)
        size = profiles.stat().st_size
        print(f"{shape}: {profiles} ({size / 2**30:.2f} GiB)", flush=True)
        for step in ("read", "map", "run"):
            runs = []
            for _ in range(args.repeats):
                measure.warm_cache(profiles)
                with tempfile.TemporaryDirectory() as tmp:
                    out = Path(tmp)
                    if step == "read":
                        cmd = [args.cpbench, "info", str(profiles)]
                    elif step == "map":
                        cmd = map_cmd(args.cpbench, profiles, task, out)
                    else:
                        cmd = [args.cpbench, "run", "--benchmark", str(bench), "--plugin",
                               str(ROOT / "plugins" / "cellprofiler"), "--out", str(out / "site"),
                               "--force"]
                    r = measure.run(cmd)
                    extra = {}
                    if step == "run":
                        result = next((out / "site").rglob("*.result.json"), None)
                        if result is None:
                            result = next(p for p in (out / "site").rglob("*.json")
                                          if "scores" in p.read_text()[:200000])
                        doc = json.loads(result.read_text())
                        extra = {s["variant"] if s["variant"] else s["metric"]: s["value"]
                                 for s in doc["scores"] if s["task"] == "activity"}
                        extra["status"] = doc["status"]
                        html = sorted((out / "site").rglob("*.html"))
                        extra["html_bytes"] = sum(p.stat().st_size for p in html)
                runs.append((r, extra))
                print(f"  {step}: {r.wall_s:.1f} s wall, {r.cpu_s:.1f} s cpu, "
                      f"{r.peak_mib:.0f} MiB {extra or ''}", flush=True)
            rows.append(dict(
                shape=shape, step=step, repeats=args.repeats,
                wall_s=statistics.median(r.wall_s for r, _ in runs),
                cpu_s=statistics.median(r.cpu_s for r, _ in runs),
                peak_mib=statistics.median(r.peak_mib for r, _ in runs),
                extra=runs[-1][1]))
    load = os.getloadavg()
    print(f"\nload average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| shape | step | wall s | cpu s | peak MiB |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['shape']} | {r['step']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['peak_mib']:,.0f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.exit(main())
