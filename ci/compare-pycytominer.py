#!/usr/bin/env python3
"""Side-by-side speed, memory and agreement of `cpbench prep` and pycytominer 1.7.1.

Both tools read the same generated Parquet file, run one preprocessing operation and write a
Parquet table; each runs in its own subprocess under GNU time, so wall time and peak resident
memory (`/usr/bin/time -f %M`) are measured the same way on both sides and cover the whole
command: read + compute + write. Generating the data and comparing the outputs also run in
child processes, so this script never holds the large tables itself. The pycytominer child also reports its compute-only time
(no reading or writing), shown beside the end-to-end numbers. pycytominer computes in float64
(the Parquet float32 columns are widened after reading, as a CSV would be read); cpbench
computes in f64 and stores f32.

Cases (issue 5):
  sphere  ZCA-cor sphering fitted on 5,000 control wells, applied to 100,000 x 1,000
          (pycytominer `normalize(method="spherize", spherize_method="ZCA-cor")`)
  mad     MAD robustize per plate (100 plates x 1,000 wells, 1,000 features), fitted on
          each plate's controls (pycytominer `normalize(method="mad_robustize")` per plate)
  corr    correlation_threshold (0.9, Pearson) on 20,000 x 1,500
          (pycytominer `feature_select(operation="correlation_threshold")`)
  smoke, smoke-mad, smoke-corr   seconds-long versions that check the script itself

Run through ci/compare-pycytominer.sh, which builds the release binary and the pinned Python
environment (tests/golden/requirements-pycytominer.txt). Usage:
  compare-pycytominer.py --cpbench target/release/cpbench [--cases sphere,mad,corr] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import measure  # ci/measure.py, beside this script

CASES = {
    "sphere": dict(kind="sphere", n=100_000, d=1_000, controls=5_000, plates=100),
    "mad": dict(kind="mad", n=100_000, d=1_000, controls=5_000, plates=100),
    "corr": dict(kind="corr", n=20_000, d=1_500, controls=1_000, plates=20),
    "smoke": dict(kind="sphere", n=2_000, d=50, controls=200, plates=4),
    "smoke-mad": dict(kind="mad", n=2_000, d=50, controls=200, plates=4),
    "smoke-corr": dict(kind="corr", n=2_000, d=100, controls=200, plates=4),
}


def generate(case: dict, path: Path, seed: int = 0) -> None:
    """Correlated f32 features (low-rank signal + noise, per-feature scale and offset) as Parquet."""
    rng = np.random.default_rng(seed)
    n, d = case["n"], case["d"]
    k = 50 if case["kind"] != "corr" else d // 5
    latent = rng.standard_normal((n, k), dtype=np.float32)
    loads = rng.standard_normal((k, d), dtype=np.float32)
    noise = 1.0
    if case["kind"] == "corr":
        # Each latent factor drives 5 features strongly (r ~ 0.98 within the five), so the
        # threshold keeps about one feature in five.
        loads *= 0.02
        loads[np.arange(d) % k, np.arange(d)] = 3.0
        noise = 0.3
    x = latent @ loads
    x += noise * rng.standard_normal((n, d), dtype=np.float32)
    x *= rng.uniform(0.5, 5.0, size=d).astype(np.float32)
    x += rng.uniform(-10.0, 10.0, size=d).astype(np.float32)
    plates = case["plates"]
    is_control = np.zeros(n, dtype=bool)
    is_control[rng.choice(n, size=case["controls"], replace=False)] = True
    meta = pd.DataFrame(
        {
            "Metadata_Plate": [f"P{p:03d}" for p in np.arange(n) * plates // n],
            "Metadata_Well": [f"W{i:06d}" for i in range(n)],
            "Metadata_pert_type": np.where(is_control, "control", "trt"),
        }
    )
    # CellProfiler-style names, so pycytominer's features="infer" finds them.
    feats = pd.DataFrame(x, columns=[f"Cells_Feature_{j:04d}" for j in range(d)])
    pd.concat([meta, feats], axis=1).to_parquet(path, index=False)


def cpbench_cmd(binary: str, case: dict, data: Path, out: Path) -> list[str]:
    base = [binary, "prep"]
    io = ["--profiles", str(data), "--out", str(out)]
    if case["kind"] == "sphere":
        return base + ["sphere", "--method", "zca-cor", "--epsilon", "1e-6",
                       "--fit-on", "Metadata_pert_type=control"] + io
    if case["kind"] == "mad":
        return base + ["normalize", "--method", "mad_robustize", "--by", "Metadata_Plate",
                       "--fit-on", "Metadata_pert_type=control"] + io
    return base + ["feature-select", "--ops", "correlation_threshold"] + io


def run_pycytominer_child(case_name: str, data: Path, out: Path) -> None:
    """The pycytominer side, run in a child process: read, compute, write."""
    from pycytominer import feature_select, normalize

    case = CASES[case_name]
    frame = pd.read_parquet(data)
    feats = [c for c in frame.columns if not c.startswith("Metadata_")]
    frame[feats] = frame[feats].astype(np.float64)
    t0 = time.perf_counter()
    if case["kind"] == "sphere":
        result = normalize(frame, method="spherize", spherize_method="ZCA-cor",
                           spherize_epsilon=1e-6, spherize_center=True,
                           samples="Metadata_pert_type == 'control'")
    elif case["kind"] == "mad":
        parts = [
            normalize(plate, method="mad_robustize", samples="Metadata_pert_type == 'control'")
            for _, plate in frame.groupby("Metadata_Plate", sort=False)
        ]
        result = pd.concat(parts, ignore_index=True)
    else:
        result = feature_select(frame, operation="correlation_threshold", corr_threshold=0.9,
                                corr_method="pearson")
    compute = time.perf_counter() - t0
    result.to_parquet(out, index=False)
    print(json.dumps({"compute_s": compute}))



def agreement(ours: Path, theirs: Path) -> dict:
    """Same columns in the same order, same rows; max |difference| and max relative difference."""
    a = pd.read_parquet(ours)
    b = pd.read_parquet(theirs)
    fa = [c for c in a.columns if not c.startswith("Metadata_")]
    fb = [c for c in b.columns if not c.startswith("Metadata_")]
    same_meta = bool(a["Metadata_Well"].tolist() == b["Metadata_Well"].tolist())
    if fa != fb:
        return {"same_features": False, "features_cpbench": len(fa), "features_pycytominer": len(fb),
                "same_rows": same_meta}
    x = a[fa].to_numpy(np.float64)
    y = b[fb].to_numpy(np.float64)
    diff = np.abs(x - y)
    return {"same_features": True, "kept_features": len(fa), "same_rows": same_meta,
            "max_abs_diff": float(diff.max()),
            "max_rel_diff": float((diff / np.maximum(1.0, np.abs(y))).max())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpbench", default="target/release/cpbench")
    ap.add_argument("--cases", default="sphere,mad,corr")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None, help="keep generated data here")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "DATA", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--generate", nargs=2, metavar=("CASE", "DATA"), help=argparse.SUPPRESS)
    ap.add_argument("--agree", nargs=2, metavar=("OURS", "THEIRS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_pycytominer_child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    if args.generate:
        generate(CASES[args.generate[0]], Path(args.generate[1]))
        return
    if args.agree:
        print(json.dumps(agreement(Path(args.agree[0]), Path(args.agree[1]))))
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="cpbench-vs-pycytominer-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for name in args.cases.split(","):
            case = CASES[name]
            data = work / f"case_{name}.parquet"
            if not data.exists():
                print(f"[{name}] generating {data.name}", file=sys.stderr, flush=True)
                measure.run([sys.executable, __file__, "--generate", name, str(data)])
            ours, theirs = work / f"cpbench_{name}.parquet", work / f"pycytominer_{name}.parquet"
            # cpbench runs first in every repetition: a cold input would be charged to it alone.
            measure.warm_cache(data)
            cpb_t, cpb_m, pyc_t, pyc_m, pyc_c = [], [], [], [], []
            for rep in range(args.repeats):
                wall, _, rss, _ = measure.run(cpbench_cmd(args.cpbench, case, data, ours))
                cpb_t.append(wall)
                cpb_m.append(rss)
                print(f"[{name}] run {rep + 1}/{args.repeats} cpbench     {wall:8.2f} s {rss:8.0f} MiB",
                      file=sys.stderr, flush=True)
                wall, _, rss, stdout = measure.run([sys.executable, __file__, "--child", name, str(data), str(theirs)])
                pyc_t.append(wall)
                pyc_m.append(rss)
                pyc_c.append(json.loads(stdout.strip().splitlines()[-1])["compute_s"])
                print(f"[{name}] run {rep + 1}/{args.repeats} pycytominer {wall:8.2f} s {rss:8.0f} MiB "
                      f"(compute {pyc_c[-1]:.2f} s)", file=sys.stderr, flush=True)
            row = {"case": name, "rows": case["n"], "features": case["d"], "repeats": args.repeats,
                   "cpbench_s": statistics.median(cpb_t), "cpbench_mib": statistics.median(cpb_m),
                   "pycytominer_s": statistics.median(pyc_t), "pycytominer_mib": statistics.median(pyc_m),
                   "pycytominer_compute_s": statistics.median(pyc_c)}
            row["speedup"] = row["pycytominer_s"] / row["cpbench_s"]
            row["speedup_vs_compute"] = row["pycytominer_compute_s"] / row["cpbench_s"]
            row["memory_ratio"] = row["pycytominer_mib"] / row["cpbench_mib"]
            stdout = measure.run([sys.executable, __file__, "--agree", str(ours), str(theirs)]).stdout
            row.update(json.loads(stdout.strip().splitlines()[-1]))
            results.append(row)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    print("\ncpbench vs pycytominer 1.7.1 (medians; whole command: read + compute + write; peak RSS per process)")
    print(f"{'case':7} {'rows x d':>13} {'cpbench s':>10} {'MiB':>7} {'pycyto s':>9} {'(compute)':>10} "
          f"{'MiB':>7} {'speedup':>8} {'mem x':>6} {'max|d|':>9} {'max rel':>9}")
    for r in results:
        shape = f"{r['rows']}x{r['features']}"
        diffs = (f"{r['max_abs_diff']:>9.1e} {r['max_rel_diff']:>9.1e}" if r.get("same_features")
                 else f"{'features differ':>19}")
        print(f"{r['case']:7} {shape:>13} {r['cpbench_s']:>10.2f} {r['cpbench_mib']:>7.0f} "
              f"{r['pycytominer_s']:>9.2f} {r['pycytominer_compute_s']:>10.2f} {r['pycytominer_mib']:>7.0f} "
              f"{r['speedup']:>7.1f}x {r['memory_ratio']:>5.1f}x {diffs}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
