#!/usr/bin/env python3
"""Side-by-side speed and quality of cpbench and scikit-learn on the same data, in one run.

Cases (the speed targets of issue 4):
- kmeans: 2,000 x 500 profiles, 14 Gaussian clusters; `cpbench eval kmeans --k 14 --restarts 100`
  vs `KMeans(n_clusters=14, n_init=100)`; quality = best inertia (cpbench / scikit-learn).
- knn: 20,000 x 1,000 profiles, 100 separable classes; leave-one-out 1-NN accuracy with cosine,
  `cpbench eval knn --k 1` vs `KNeighborsClassifier(metric="cosine", algorithm="brute")`
  (kneighbors with 2 neighbours, the query itself dropped); quality = both accuracies.

The data are generated once (float32 values) into one Parquet file per case that both tools read.
Each command runs in its own subprocess, `--reps` times, alternating; wall time is measured around
the subprocess (everything: interpreter start, imports, reading the file, writing the result);
scikit-learn also reports the time of the fit/query alone, timed inside the subprocess. Peak
memory is GNU time's maximum RSS of each command (`/usr/bin/time -f %M`), not this process's
wait4: Linux carries a parent's high-water RSS across fork and exec, so a child of this large
Python process would report the parent's footprint; GNU time also gives each command's CPU
time (user + system), which a busy machine distorts less than wall time. cpbench uses every
core; scikit-learn runs once with its default threads (all cores, OpenMP/BLAS) and once with
one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1), as chosen by --sklearn-threads.

Usage: ci/compare-sklearn.sh [--reps 3] [--only kmeans|knn] [--sklearn-threads all,1] [--keep DIR]
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile

import numpy as np
import pandas as pd

import measure  # ci/measure.py, beside this script

ROOT = pathlib.Path(__file__).resolve().parents[1]

LOAD = """
import json, sys, time
import numpy as np
import pandas as pd
frame = pd.read_parquet(sys.argv[1])
features = [c for c in frame.columns if not c.startswith("Metadata_")]
x = frame[features].to_numpy(dtype=np.float64)
y = frame["Metadata_label"].to_numpy()
"""

SKLEARN_KMEANS = LOAD + """
from sklearn.cluster import KMeans
t = time.perf_counter()
m = KMeans(n_clusters=int(sys.argv[2]), n_init=int(sys.argv[3]), random_state=int(sys.argv[4])).fit(x)
print(json.dumps({"compute_s": time.perf_counter() - t, "quality": float(m.inertia_)}))
"""

SKLEARN_KNN = LOAD + """
from sklearn.neighbors import KNeighborsClassifier
t = time.perf_counter()
model = KNeighborsClassifier(n_neighbors=1, metric="cosine", algorithm="brute").fit(x, y)
_, idx = model.kneighbors(x, n_neighbors=2)
self_first = idx[:, 0] == np.arange(len(x))
nn = np.where(self_first, idx[:, 1], idx[:, 0])
acc = float((y[nn] == y).mean())
print(json.dumps({"compute_s": time.perf_counter() - t, "quality": acc}))
"""

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")


def timed(cmd, threads=None):
    """Runs cmd; returns (wall s, CPU s (user + system), peak RSS MiB of that command alone,
    stdout), the last two from GNU time."""
    env = dict(os.environ)
    for v in THREAD_VARS:
        env.pop(v, None)
    if threads:
        env.update({v: str(threads) for v in THREAD_VARS})
    return measure.run(cmd, env)


def blobs(n, d, k, spread, seed):
    """Gaussian classes: centers ~ N(0, spread²), unit noise, labels cycling through 0..k."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(k, d))
    y = np.arange(n) % k
    x = (centers[y] + rng.normal(size=(n, d))).astype(np.float32)
    return x, y


def write_case(folder, name, x, y):
    """The float32 values and labels as one Parquet file that both tools read."""
    path = folder / f"{name}.parquet"
    frame = pd.DataFrame(x, columns=[f"f{j:04d}" for j in range(x.shape[1])])
    frame.insert(0, "Metadata_label", [f"class_{label:03d}" for label in y])
    frame.to_parquet(path, index=False)
    return path


def run_case(name, folder, cpbench_cmd, sklearn_script, sklearn_args, reps, sklearn_threads):
    out_json = folder / f"{name}.cpbench.json"
    res = {"cpbench": []}
    res.update({f"sklearn-{t}": [] for t in sklearn_threads})
    for rep in range(reps):
        wall, cpu, rss, _ = timed(cpbench_cmd(rep, out_json))
        quality = json.loads(out_json.read_text())
        res["cpbench"].append({"wall": wall, "cpu": cpu, "rss": rss, "quality": quality})
        for t in sklearn_threads:
            wall, cpu, rss, out = timed([sys.executable, "-c", sklearn_script,
                                         *sklearn_args(rep)],
                                        threads=None if t == "all" else int(t))
            o = json.loads(out)
            res[f"sklearn-{t}"].append({"wall": wall, "cpu": cpu, "rss": rss,
                                        "compute": o["compute_s"],
                                        "quality": o["quality"]})
    return res


def kmeans_case(folder, cpbench, reps, sklearn_threads):
    n, d, k, restarts = 2000, 500, 14, 100
    x, y = blobs(n, d, k, spread=0.35, seed=1)
    data = write_case(folder, "kmeans", x, y)

    def cp(rep, out):
        return [cpbench, "eval", "kmeans", "--profiles", data, "--labels", "Metadata_label",
                "--k", str(k), "--restarts", str(restarts), "--seed", str(rep),
                "--silhouette", "none", "--out", out]

    res = run_case("kmeans", folder, cp, SKLEARN_KMEANS,
                   lambda rep: [data, str(k), str(restarts), str(rep)], reps, sklearn_threads)
    for r in res["cpbench"]:
        r["quality"] = r["quality"]["best_inertia"]
    return {"case": f"k-means k={k}, {restarts} restarts, {n} x {d}", "res": res,
            "quality": "best inertia"}


def knn_case(folder, cpbench, reps, sklearn_threads):
    n, d, k = 20000, 1000, 100
    # Class centers of scale 0.25 against unit noise: 1-NN accuracy far from chance (1%) and
    # below 100%, so equal accuracies say that the neighbours agree.
    x, y = blobs(n, d, k, spread=0.25, seed=2)
    data = write_case(folder, "knn", x, y)

    def cp(rep, out):
        return [cpbench, "eval", "knn", "--profiles", data, "--labels", "Metadata_label",
                "--k", "1", "--out", out]

    res = run_case("knn", folder, cp, SKLEARN_KNN, lambda rep: [data], reps, sklearn_threads)
    for r in res["cpbench"]:
        r["quality"] = r["quality"]["accuracy"]
    return {"case": f"kNN accuracy k=1 cosine LOO, {n} x {d}", "res": res, "quality": "accuracy"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpbench", default=str(ROOT / "target/release/cpbench"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", choices=["kmeans", "knn"])
    ap.add_argument("--sklearn-threads", default="all,1",
                    help="comma-separated thread settings for scikit-learn: 'all' (its default) "
                         "and/or a number (OMP/OPENBLAS/MKL_NUM_THREADS)")
    ap.add_argument("--keep", help="write the data and outputs here instead of a temporary folder")
    ap.add_argument("--json", help="also write the measurements to this JSON file")
    args = ap.parse_args()
    if args.reps < 3:
        sys.exit("--reps must be at least 3 (medians of fewer runs are not worth reporting)")
    sklearn_threads = [t.strip() for t in args.sklearn_threads.split(",") if t.strip()]
    for t in sklearn_threads:
        if t != "all" and not (t.isdigit() and int(t) > 0):
            sys.exit(f"--sklearn-threads: {t!r} is neither 'all' nor a positive number")
    folder_ctx = tempfile.TemporaryDirectory(prefix="cpbench-compare-") if not args.keep else None
    folder = pathlib.Path(args.keep or folder_ctx.name)
    folder.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    cases = []
    if args.only in (None, "kmeans"):
        cases.append(kmeans_case(folder, args.cpbench, args.reps, sklearn_threads))
    if args.only in (None, "knn"):
        cases.append(knn_case(folder, args.cpbench, args.reps, sklearn_threads))
    med = statistics.median
    print(f"machine: {os.cpu_count()} logical CPUs, load average before {load_before}, after "
          f"{os.getloadavg()}; {args.reps} repetitions, medians; cpbench on all cores")
    print("| case | tool (threads) | wall s | compute s | CPU s | wall / cpbench wall | "
          "compute / cpbench wall | peak MiB | quality |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in cases:
        cw = med([r["wall"] for r in c["res"]["cpbench"]])
        for tool, rows in c["res"].items():
            wall = med([r["wall"] for r in rows])
            if tool == "cpbench":
                compute, r1, r2 = "–", "1", "–"
            else:
                sc = med([r["compute"] for r in rows])
                compute, r1, r2 = f"{sc:.2f}", f"{wall / cw:.2f}x", f"{sc / cw:.2f}x"
            qualities = sorted({f"{r['quality']:.10g}" for r in rows})
            cpu = med([r["cpu"] for r in rows])
            print(f"| {c['case']} | {tool} | {wall:.2f} | {compute} | {cpu:.2f} | {r1} | {r2} | "
                  f"{med([r['rss'] for r in rows]):.0f} | {c['quality']} {', '.join(qualities)} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(cases, indent=1, default=str))
    if folder_ctx:
        folder_ctx.cleanup()


if __name__ == "__main__":
    main()
