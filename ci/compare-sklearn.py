#!/usr/bin/env python3
"""Side-by-side speed and quality of cpbench and scikit-learn on the same data, in one run.

Cases (the speed targets of issue 4):
- kmeans: 2,000 x 500 profiles, 14 Gaussian clusters; `cpbench eval kmeans --k 14 --restarts 100`
  vs `KMeans(n_clusters=14, n_init=100)`; quality = best inertia (cpbench / scikit-learn).
- knn: 20,000 x 1,000 profiles, 100 classes; leave-one-out 1-NN accuracy with cosine,
  `cpbench eval knn --k 1` vs `KNeighborsClassifier(metric="cosine", algorithm="brute")`
  (kneighbors with 2 neighbours, the query itself dropped); quality = accuracy difference.

The data are generated once (float32 values) into a temporary folder: a CSV that cpbench reads
and a .npy with the same float32 values that the scikit-learn side loads, so scikit-learn does
not pay for CSV parsing. Each side runs in its own subprocess, `--reps` times, alternating;
wall time is measured around the subprocess (cpbench: everything, CSV parsing included;
scikit-learn: interpreter start, imports and loading included, and separately the time of the
fit/query alone, timed inside the subprocess). Peak memory is the subprocess's ru_maxrss
(os.wait4), for both sides. Both sides use every core (scikit-learn through OpenMP/BLAS).

Usage: ci/compare-sklearn.sh [--reps 3] [--only kmeans|knn] [--threads N] [--keep DIR]
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]

SKLEARN_KMEANS = """
import json, sys, time
import numpy as np
from sklearn.cluster import KMeans
x = np.load(sys.argv[1]).astype(np.float64)
t = time.perf_counter()
m = KMeans(n_clusters=int(sys.argv[2]), n_init=int(sys.argv[3]), random_state=int(sys.argv[4])).fit(x)
print(json.dumps({"compute_s": time.perf_counter() - t, "best_inertia": float(m.inertia_)}))
"""

SKLEARN_KNN = """
import json, sys, time
import numpy as np
from sklearn.neighbors import KNeighborsClassifier
x = np.load(sys.argv[1]).astype(np.float64)
y = np.load(sys.argv[2])
t = time.perf_counter()
model = KNeighborsClassifier(n_neighbors=1, metric="cosine", algorithm="brute").fit(x, y)
_, idx = model.kneighbors(x, n_neighbors=2)
self_first = idx[:, 0] == np.arange(len(x))
nn = np.where(self_first, idx[:, 1], idx[:, 0])
acc = float((y[nn] == y).mean())
print(json.dumps({"compute_s": time.perf_counter() - t, "accuracy": acc}))
"""


THREAD_ENV = {}


def run_measured(cmd):
    """Runs cmd and returns (wall seconds, peak RSS MiB, stdout) using os.wait4 for the child."""
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True,
                                env={**os.environ, **THREAD_ENV})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{err.read()}")
        return wall, usage.ru_maxrss / 1024.0, out.read()


def blobs(n, d, k, spread, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(k, d))
    y = np.arange(n) % k
    x = (centers[y] + rng.normal(size=(n, d))).astype(np.float32)
    return x, y


def write_case(folder, name, x, y):
    """The same float32 values as CSV (cpbench) and .npy (scikit-learn)."""
    csv = folder / f"{name}.csv"
    header = "Metadata_label," + ",".join(f"f{j}" for j in range(x.shape[1]))
    with open(csv, "w") as fh:
        fh.write(header + "\n")
        for label, row in zip(y, x):
            fh.write(f"class_{label:03d}," + ",".join(map(repr, row.tolist())) + "\n")
    np.save(folder / f"{name}.x.npy", x)
    np.save(folder / f"{name}.y.npy", y)
    return csv


def summarize(rows):
    return statistics.median(rows)


def kmeans_case(folder, cpbench, reps, threads):
    n, d, k, restarts = 2000, 500, 14, 100
    x, y = blobs(n, d, k, spread=0.35, seed=1)
    csv = write_case(folder, "kmeans", x, y)
    res = {"cpbench": [], "sklearn": []}
    out_json = folder / "kmeans.cpbench.json"
    for rep in range(reps):
        wall, rss, _ = run_measured([cpbench, "eval", "kmeans", "--profiles", csv, "--labels",
                                     "Metadata_label", "--k", str(k), "--restarts", str(restarts),
                                     "--seed", str(rep), "--silhouette", "none", "--threads", str(threads),
                                     "--out", out_json])
        best = json.loads(out_json.read_text())["best_inertia"]
        res["cpbench"].append({"wall": wall, "rss": rss, "quality": best})
        wall, rss, out = run_measured([sys.executable, "-c", SKLEARN_KMEANS, folder / "kmeans.x.npy",
                                       str(k), str(restarts), str(rep)])
        o = json.loads(out)
        res["sklearn"].append({"wall": wall, "rss": rss, "compute": o["compute_s"],
                               "quality": o["best_inertia"]})
    return {"case": f"k-means k={k}, {restarts} restarts, {n} x {d}", "res": res,
            "quality": "best inertia, cpbench / scikit-learn (median over reps)",
            "quality_value": summarize([c["quality"] / s["quality"]
                                        for c, s in zip(res["cpbench"], res["sklearn"])])}


def knn_case(folder, cpbench, reps):
    n, d, k = 20000, 1000, 100
    x, y = blobs(n, d, k, spread=0.05, seed=2)
    csv = write_case(folder, "knn", x, y)
    res = {"cpbench": [], "sklearn": []}
    out_json = folder / "knn.cpbench.json"
    for _ in range(reps):
        wall, rss, _ = run_measured([cpbench, "eval", "knn", "--profiles", csv, "--labels",
                                     "Metadata_label", "--k", "1", "--out", out_json])
        acc = json.loads(out_json.read_text())["accuracy"]
        res["cpbench"].append({"wall": wall, "rss": rss, "quality": acc})
        wall, rss, out = run_measured([sys.executable, "-c", SKLEARN_KNN, folder / "knn.x.npy",
                                       folder / "knn.y.npy"])
        o = json.loads(out)
        res["sklearn"].append({"wall": wall, "rss": rss, "compute": o["compute_s"],
                               "quality": o["accuracy"]})
    return {"case": f"kNN accuracy k=1 cosine LOO, {n} x {d}", "res": res,
            "quality": "accuracy, cpbench - scikit-learn",
            "quality_value": summarize([c["quality"] - s["quality"]
                                        for c, s in zip(res["cpbench"], res["sklearn"])])}


def has_knn(cpbench):
    probe = subprocess.run([cpbench, "eval", "knn", "--help"], capture_output=True)
    return probe.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpbench", default=str(ROOT / "target/release/cpbench"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", choices=["kmeans", "knn"])
    ap.add_argument("--keep", help="write the data and outputs here instead of a temporary folder")
    ap.add_argument("--json", help="also write the measurements to this JSON file")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for both sides (0: all cores): cpbench --threads and "
                         "RAYON_NUM_THREADS, OMP/OPENBLAS/MKL_NUM_THREADS for scikit-learn")
    args = ap.parse_args()
    if args.reps < 3:
        sys.exit("--reps must be at least 3 (medians of fewer runs are not worth reporting)")
    if args.threads > 0:
        THREAD_ENV.update({v: str(args.threads) for v in (
            "RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    folder_ctx = tempfile.TemporaryDirectory(prefix="cpbench-compare-") if not args.keep else None
    folder = pathlib.Path(args.keep or folder_ctx.name)
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    if args.only in (None, "kmeans"):
        cases.append(kmeans_case(folder, args.cpbench, args.reps, args.threads))
    if args.only in (None, "knn"):
        if has_knn(args.cpbench):
            cases.append(knn_case(folder, args.cpbench, args.reps))
        else:
            print("note: this cpbench has no `eval knn`; the kNN case was skipped", file=sys.stderr)
    print(f"machine: {os.cpu_count()} logical CPUs, load average {os.getloadavg()}; "
          f"{args.reps} repetitions, medians; threads: {args.threads or 'all'}")
    print("| case | cpbench wall s | sklearn wall s | sklearn compute s | ratio (sklearn compute / cpbench wall) | cpbench peak MiB | sklearn peak MiB | quality |")
    print("|---|---|---|---|---|---|---|---|")
    for c in cases:
        cp, sk = c["res"]["cpbench"], c["res"]["sklearn"]
        cw, sw = summarize([r["wall"] for r in cp]), summarize([r["wall"] for r in sk])
        sc = summarize([r["compute"] for r in sk])
        print(f"| {c['case']} | {cw:.2f} | {sw:.2f} | {sc:.2f} | {sc / cw:.2f}x | "
              f"{summarize([r['rss'] for r in cp]):.0f} | {summarize([r['rss'] for r in sk]):.0f} | "
              f"{c['quality']}: {c['quality_value']:.6g} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(cases, indent=1, default=str))
    if folder_ctx:
        folder_ctx.cleanup()


if __name__ == "__main__":
    main()
