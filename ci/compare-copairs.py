#!/usr/bin/env python3
"""Side-by-side speed and agreement of `cpbench eval map` and copairs 0.5.5.

Both tools read the same Parquet file (generated, or an existing one for the
orf-shape case), compute average precision per profile and mAP per group with
p-values, and write their tables; each runs in its own subprocess so that its
wall time and peak resident memory (GNU time's maximum RSS of that command) are
measured the same way. copairs also reports its
compute-only time (no file reading or writing), shown beside the end-to-end
numbers so the comparison cannot flatter cpbench by file IO. The input file is
read once, untimed, before every run, so neither tool pays for a cold page cache.
copairs gets the features as float64 (`to_numpy(dtype=np.float64)`) in every
case; cpbench reads the file's Float32 columns as they are.

Cases (issue 3):
  a  2,000 compounds x 4 replicates + 384 controls, 1,000 features, replicates
     scored against the controls only (copairs' assign_reference_index trick)
  b  all-vs-all consistency: 5,000 compound profiles in 100 MoA classes,
     positives share the MoA, negatives differ in it
  c  case a's data with p-values from a null of size 100,000
  d  100,000 profiles x 1,000 features (24,000 compounds x 4 + 4,000 controls),
     replicates against controls: cpbench only (copairs would need the pair
     index of 10^8 pairs); time and peak memory
  d-all  the same 100,000 x 1,000, all-vs-all replicate retrieval (every other
     profile a candidate): cpbench only, one run (slow: 10^10 similarities)
  orf-shape  an existing JUMP-ORF-shaped well table given with --data (made by
     `cpbench simulate large --seed 0 --n-wells 80000 --wells-per-plate 384
     --controls-per-plate 19 --n-features 722 --n-perturbations 15000
     --n-classes 100 --plates-per-batch 20`: 80,000 wells x 722 Float32
     features, 209 plates, 19 control wells per plate, ~5 replicate wells per
     perturbation on different plates), scored as the shipped activity task
     (jump-profiling-recipe's copairs settings): each perturbation's replicates
     against the control wells of the SAME plate, i.e. pos_sameby
     Metadata_Perturbation, neg_sameby Metadata_Plate, neg_diffby
     Metadata_Perturbation, reference Metadata_Perturbation=control (copairs'
     assign_reference_index), cosine, null 10,000, seed 0, threshold 0.05.
     APs are matched on (Metadata_Plate, Metadata_Well). With --plates N both
     tools read a subset file of the first N plates (in file order; written
     to the workdir, column types kept) instead. In that file a perturbation's
     replicates are 41 plates apart, so N must be at least 42 for any
     positive pair (N = 84: 2-3 replicates per perturbation).

Run through ci/compare-copairs.sh, which builds the release binary and the
pinned Python environment. Usage:
  compare-copairs.py --cpbench target/release/cpbench [--cases a,b,c,d] [--repeats 3]
  compare-copairs.py --cpbench target/release/cpbench --cases orf-shape \
      --data wells.parquet [--plates N] [--repeats 3] [--copairs-repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import measure  # ci/measure.py, beside this script

CASES = {
    "a": dict(kind="reference", compounds=2000, reps=4, controls=384, d=1000, null=10_000),
    "b": dict(kind="consistency", profiles=5000, moas=100, d=1000, null=10_000),
    "c": dict(kind="reference", compounds=2000, reps=4, controls=384, d=1000, null=100_000),
    "d": dict(kind="reference", compounds=24_000, reps=4, controls=4000, d=1000, null=10_000,
              cpbench_only=True),
    "d-all": dict(kind="replicates", compounds=25_000, reps=4, d=1000, null=10_000,
                  cpbench_only=True, repeats=1),
    # Read from --data (not generated); rows matched on the well, not on Metadata_row.
    "orf-shape": dict(kind="plate-reference", external=True, null=10_000,
                      ap_key=["Metadata_Plate", "Metadata_Well"]),
    # A seconds-long check that the script itself works.
    "smoke": dict(kind="reference", compounds=50, reps=4, controls=24, d=64, null=1000),
}


def generate(case: dict, path: Path, seed: int = 0) -> None:
    """Writes the case's profiles: Metadata_ columns + f32 features, as Parquet."""
    rng = np.random.default_rng(seed)
    d = case["d"]
    meta: dict[str, list] = {}
    if case["kind"] in ("reference", "replicates"):
        comp, reps = case["compounds"], case["reps"]
        ctl = case.get("controls", 0)
        # Half the compounds are inactive (no shift); the others shift by a random strength
        # around the noise level of one similarity, so APs and p-values span their whole range.
        strength = np.where(rng.random(comp) < 0.5, 0.0, rng.uniform(0.1, 0.5, comp))
        centers = (strength[:, None] * rng.standard_normal((comp, d))).astype(np.float32)
        x = np.repeat(centers, reps, axis=0)
        x += rng.standard_normal(x.shape, dtype=np.float32)
        if ctl:
            x = np.concatenate([x, rng.standard_normal((ctl, d), dtype=np.float32)])
        meta["Metadata_cpd"] = [f"C{c:06d}" for c in range(comp) for _ in range(reps)] + ["DMSO"] * ctl
    else:
        n, moas = case["profiles"], case["moas"]
        strength = rng.uniform(0.05, 0.35, moas)
        centers = (strength[:, None] * rng.standard_normal((moas, d))).astype(np.float32)
        moa = np.arange(n) % moas
        x = centers[moa] + rng.standard_normal((n, d), dtype=np.float32)
        meta["Metadata_moa"] = [f"M{m:03d}" for m in moa]
        meta["Metadata_cpd"] = [f"C{i:06d}" for i in range(n)]
    meta["Metadata_row"] = list(range(x.shape[0]))
    frame = pd.DataFrame(meta)
    feats = pd.DataFrame(x, columns=[f"f{j:04d}" for j in range(d)])
    pd.concat([frame, feats], axis=1).to_parquet(path, index=False)


def subset_plates(src: Path, dst: Path, plates: int) -> None:
    """Writes the rows of the first `plates` plates of src (in file order) to dst, types kept."""
    table = pq.read_table(src)
    schema = table.schema
    # is_in and filter have no string_view kernels: filter as string, then cast back.
    views = {f.name for f in schema if pa.types.is_string_view(f.type)}
    table = pa.table({n: table[n].cast(pa.string()) if n in views else table[n]
                      for n in schema.names})
    names = pc.unique(table["Metadata_Plate"]).to_pylist()
    if plates > len(names):
        raise SystemExit(f"--plates {plates}: {src} has only {len(names)} plates")
    keep = pc.is_in(table["Metadata_Plate"], value_set=pa.array(names[:plates]))
    pq.write_table(table.filter(keep).cast(schema), dst)


def case_data(name: str, case: dict, work: Path, args: argparse.Namespace) -> Path:
    """The Parquet file both tools read for the case: generated, or --data (or its subset)."""
    if not case.get("external"):
        data = work / f"case_{name}.parquet"
        if not data.exists():
            print(f"[{name}] generating {data.name}", file=sys.stderr, flush=True)
            generate(case, data)
        return data
    if args.data is None:
        raise SystemExit(f"case {name} reads an existing file: give it with --data PATH")
    if not args.plates:
        return args.data
    data = work / f"case_{name}_plates{args.plates}.parquet"
    if not data.exists():
        print(f"[{name}] writing the first {args.plates} plates of {args.data} to {data.name}",
              file=sys.stderr, flush=True)
        subset_plates(args.data, data, args.plates)
    return data


def rules(case: dict) -> dict:
    """copairs rule lists for the case (the reference column is added by each tool)."""
    if case["kind"] == "plate-reference":
        return dict(pos_sameby=["Metadata_Perturbation"], pos_diffby=[],
                    neg_sameby=["Metadata_Plate"], neg_diffby=["Metadata_Perturbation"],
                    reference="Metadata_Perturbation=control")
    if case["kind"] == "reference":
        return dict(pos_sameby=["Metadata_cpd"], pos_diffby=[], neg_sameby=[],
                    neg_diffby=["Metadata_cpd"], reference="Metadata_cpd=DMSO")
    if case["kind"] == "replicates":
        return dict(pos_sameby=["Metadata_cpd"], pos_diffby=[], neg_sameby=[],
                    neg_diffby=["Metadata_cpd"], reference=None)
    return dict(pos_sameby=["Metadata_moa"], pos_diffby=[], neg_sameby=[],
                neg_diffby=["Metadata_moa"], reference=None)


def run_copairs_child(case_name: str, data: Path, out: Path) -> None:
    """The copairs side, run in a child process: read, compute, write."""
    from copairs import map as cpmap
    from copairs.matching import assign_reference_index

    case = CASES[case_name]
    r = rules(case)
    frame = pd.read_parquet(data)
    meta_cols = [c for c in frame.columns if c.startswith("Metadata_")]
    meta = frame[meta_cols].copy()
    feats = frame.drop(columns=meta_cols).to_numpy(dtype=np.float64)
    t0 = time.perf_counter()
    pos_sameby, neg_diffby = list(r["pos_sameby"]), list(r["neg_diffby"])
    if r["reference"]:
        col, value = r["reference"].split("=")
        meta = assign_reference_index(meta, f"{col} == '{value}'",
                                      reference_col="Metadata_Reference", default_value=-1)
        pos_sameby.append("Metadata_Reference")
        neg_diffby.append("Metadata_Reference")
    ap = cpmap.average_precision(meta, feats, pos_sameby=pos_sameby, pos_diffby=r["pos_diffby"],
                                 neg_sameby=r["neg_sameby"], neg_diffby=neg_diffby,
                                 batch_size=20000, distance="cosine", progress_bar=False)
    t_ap = time.perf_counter() - t0
    ap = ap.dropna(subset=["average_precision"])
    with tempfile.TemporaryDirectory() as cache:
        # A fresh null cache each run: copairs reuses nulls cached under ~/.copairs otherwise,
        # which would make later repetitions faster than a first run.
        m = cpmap.mean_average_precision(ap, r["pos_sameby"], null_size=case["null"],
                                         threshold=0.05, seed=0, progress_bar=False,
                                         cache_dir=cache)
    t_all = time.perf_counter() - t0
    ap.to_csv(out / "copairs_ap.csv", index=False)
    m.to_csv(out / "copairs_map.csv", index=False)
    print(json.dumps({"compute_s": t_all, "ap_s": t_ap, "map_s": t_all - t_ap}))



def cpbench_cmd(binary: str, case: dict, data: Path, out: Path) -> list[str]:
    r = rules(case)
    cmd = [binary, "eval", "map", "--profiles", str(data),
           "--pos-sameby", ",".join(r["pos_sameby"]), "--neg-diffby", ",".join(r["neg_diffby"]),
           "--similarity", "cosine", "--null-size", str(case["null"]), "--seed", "0",
           "--out-ap", str(out / "cpbench_ap.parquet"), "--out-map", str(out / "cpbench_map.parquet")]
    if r["pos_diffby"]:
        cmd += ["--pos-diffby", ",".join(r["pos_diffby"])]
    if r["neg_sameby"]:
        cmd += ["--neg-sameby", ",".join(r["neg_sameby"])]
    if r["reference"]:
        cmd += ["--reference", r["reference"]]
    return cmd


def agreement(out: Path, case: dict) -> dict:
    """Max |dAP| over profiles and max |d mAP| over groups between the two tools' tables."""
    key = rules(case)["pos_sameby"]
    ap_key = case.get("ap_key", ["Metadata_row"])
    ours = pd.read_parquet(out / "cpbench_ap.parquet").dropna(subset=["average_precision"])
    theirs = pd.read_csv(out / "copairs_ap.csv")
    # Key columns as strings on both sides (the CSV's types are pandas' guess).
    for t in (ours, theirs):
        t[ap_key] = t[ap_key].astype(str)
    j = ours.merge(theirs, on=ap_key, suffixes=("_cpb", "_cop"))
    if len(j) != len(theirs) or len(j) != len(ours):
        raise SystemExit(f"AP rows differ: cpbench {len(ours)}, copairs {len(theirs)}, joined {len(j)}")
    d_ap = float(np.max(np.abs(j["average_precision_cpb"] - j["average_precision_cop"])))
    same_counts = bool((j["n_pos_pairs_cpb"] == j["n_pos_pairs_cop"]).all()
                       and (j["n_total_pairs_cpb"] == j["n_total_pairs_cop"]).all())
    om = pd.read_parquet(out / "cpbench_map.parquet")
    tm = pd.read_csv(out / "copairs_map.csv")
    for t in (om, tm):
        t[key] = t[key].astype(str)
    jm = om.merge(tm, on=key, suffixes=("_cpb", "_cop"))
    if len(jm) != len(tm) or len(jm) != len(om):
        raise SystemExit(f"mAP groups differ: cpbench {len(om)}, copairs {len(tm)}, joined {len(jm)}")
    d_map = float(np.max(np.abs(jm["mean_average_precision_cpb"] - jm["mean_average_precision_cop"])))
    d_p = float(np.max(np.abs(jm["p_value_cpb"] - jm["p_value_cop"])))
    frac = (float(om["below_corrected_p"].mean()), float(tm["below_corrected_p"].mean()))
    return {"max_abs_d_ap": d_ap, "pair_counts_equal": same_counts, "max_abs_d_map": d_map,
            "max_abs_d_p": d_p, "fraction_retrieved_cpbench": frac[0],
            "fraction_retrieved_copairs": frac[1], "groups": len(jm)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpbench", default="target/release/cpbench")
    ap.add_argument("--cases", default="a,b,c,d")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None, help="keep generated data here")
    ap.add_argument("--copairs-repeats", type=int, default=None,
                    help="copairs runs per case (default: --repeats); the first ones pair with cpbench's")
    ap.add_argument("--data", type=Path, default=None,
                    help="existing Parquet table of the cases that read one (orf-shape)")
    ap.add_argument("--plates", type=int, default=None,
                    help="with --data: both tools read only the first N plates (a subset file in the workdir)")
    ap.add_argument("--cpbench-only", action="store_true", help="skip the copairs runs")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_copairs_child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="cpbench-vs-copairs-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for name in args.cases.split(","):
            case = CASES[name]
            data = case_data(name, case, work, args)
            repeats = case.get("repeats", args.repeats)
            cop_repeats = 0 if case.get("cpbench_only") or args.cpbench_only else \
                min(repeats, repeats if args.copairs_repeats is None else args.copairs_repeats)
            cpb_t, cpb_m, cop_t, cop_m, cop_c, load = [], [], [], [], [], []
            out = work / f"out_{name}"
            out.mkdir(exist_ok=True)
            for rep in range(repeats):
                measure.warm_cache(data)
                wall, _, rss, _ = measure.run(cpbench_cmd(args.cpbench, case, data, out))
                cpb_t.append(wall)
                cpb_m.append(rss)
                load.append(os.getloadavg()[0])
                print(f"[{name}] run {rep + 1}/{repeats} cpbench {wall:8.2f} s {rss:8.0f} MiB "
                      f"(load {load[-1]:.2f})", file=sys.stderr, flush=True)
                if rep >= cop_repeats:
                    continue
                measure.warm_cache(data)
                wall, _, rss, stdout = measure.run([sys.executable, __file__, "--child", name, str(data), str(out)])
                cop_t.append(wall)
                cop_m.append(rss)
                cop_c.append(json.loads(stdout.strip().splitlines()[-1])["compute_s"])
                load.append(os.getloadavg()[0])
                print(f"[{name}] run {rep + 1}/{cop_repeats} copairs {wall:8.2f} s {rss:8.0f} MiB "
                      f"(compute {cop_c[-1]:.2f} s, load {load[-1]:.2f})", file=sys.stderr, flush=True)
            row = {"case": name, "data": str(data), "plates": args.plates if case.get("external") else None,
                   "repeats": repeats, "copairs_repeats": len(cop_t), "rows": None,
                   "cpbench_s": statistics.median(cpb_t), "cpbench_mib": statistics.median(cpb_m),
                   "cpbench_runs_s": cpb_t, "copairs_runs_s": cop_t, "load_1min_after_runs": load}
            row["rows"] = pq.ParquetFile(data).metadata.num_rows
            if cop_t:
                row.update({"copairs_s": statistics.median(cop_t), "copairs_mib": statistics.median(cop_m),
                            "copairs_compute_s": statistics.median(cop_c)})
                row["speedup"] = row["copairs_s"] / row["cpbench_s"]
                row["speedup_vs_compute"] = row["copairs_compute_s"] / row["cpbench_s"]
                row["memory_ratio"] = row["copairs_mib"] / row["cpbench_mib"]
                row.update(agreement(out, case))
            results.append(row)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\ncpbench vs copairs 0.5.5 (medians of the runs; wall time and peak RSS per process)")
    print(f"{'case':9} {'rows':>7} {'cpbench s':>10} {'MiB':>7} {'copairs s':>10} {'(compute)':>10} "
          f"{'MiB':>7} {'speedup':>8} {'mem x':>6} {'max|dAP|':>9} {'max|dmAP|':>9} {'max|dp|':>8} "
          f"{'retrieved cpb/cop':>17}")
    for r in results:
        if "copairs_s" in r:
            print(f"{r['case']:9} {r['rows']:>7} {r['cpbench_s']:>10.2f} {r['cpbench_mib']:>7.0f} "
                  f"{r['copairs_s']:>10.2f} {r['copairs_compute_s']:>10.2f} {r['copairs_mib']:>7.0f} "
                  f"{r['speedup']:>7.1f}x {r['memory_ratio']:>5.1f}x {r['max_abs_d_ap']:>9.1e} "
                  f"{r['max_abs_d_map']:>9.1e} {r['max_abs_d_p']:>8.1e} "
                  f"{r['fraction_retrieved_cpbench']:>8.4f}/{r['fraction_retrieved_copairs']:.4f}")
        else:
            print(f"{r['case']:9} {r['rows']:>7} {r['cpbench_s']:>10.2f} {r['cpbench_mib']:>7.0f} "
                  f"{'(cpbench only)':>29}")
        if r.get("plates"):
            print(f"{'':9} (subset: the first {r['plates']} plates of --data)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
