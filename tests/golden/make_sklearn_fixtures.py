#!/usr/bin/env python3
"""Write golden fixtures for cpbench's scikit-learn-convention metrics.

Pinned environment: tests/golden/requirements-sklearn.txt (scikit-learn 1.9.1, numpy 2.4.6,
scipy 1.17.1, pandas 3.1.1).  Usage, from the repository root:

    python3 -m venv /tmp/gs
    /tmp/gs/bin/pip install -r tests/golden/requirements-sklearn.txt
    /tmp/gs/bin/python tests/golden/make_sklearn_fixtures.py

Everything is written under tests/fixtures/sklearn/.  Features are rounded to float32 before
scikit-learn sees them, because cpbench stores features as float32; all arithmetic after that
is float64 on both sides.  Each section is a function of its own, called from main().
"""

import json
import pathlib

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "sklearn"


def versions():
    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__}


def f32(a):
    """Rounds to float32 (what cpbench reads) and widens back."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def loo_neighbours(x, k_max):
    """Leave-one-out neighbour lists (nearest first) from scikit-learn's brute-force cosine search.

    The model is fitted on every row and asked for one neighbour more than needed; the query
    itself (cosine distance 0) comes first and is dropped.
    """
    model = KNeighborsClassifier(n_neighbors=1, metric="cosine", algorithm="brute").fit(x, np.zeros(len(x)))
    dist, idx = model.kneighbors(x, n_neighbors=k_max + 1)
    assert (idx[:, 0] == np.arange(len(x))).all(), "a row is not its own nearest neighbour"
    return dist[:, 1:], idx[:, 1:]


def majority(labels):
    """The most frequent label, or None on a vote tie (scikit-learn and cpbench break those differently)."""
    counts = np.bincount(labels)
    winners = np.flatnonzero(counts == counts.max())
    return int(winners[0]) if len(winners) == 1 else None


def knn_fixtures():
    """Synthetic data without similarity ties: leave-one-out predictions for k = 1 and 5.

    Queries whose k neighbours split their vote evenly get prediction null (not compared);
    the accuracy is over all queries with scikit-learn's own tie rule (lowest label).
    """
    rng = np.random.default_rng(20240604)
    n, d, n_classes = 80, 8, 4
    centres = rng.normal(size=(n_classes, d))
    y = np.arange(n) % n_classes
    x = f32(centres[y] * 0.8 + rng.normal(size=(n, d)))
    dist, idx = loo_neighbours(x, n - 1)
    # Tie-free: all distances from a query to its neighbours differ.
    assert (np.diff(dist, axis=1) > 1e-12).all()
    cases = {}
    for k in (1, 5):
        pred = [majority(y[idx[q, :k]]) for q in range(n)]
        sk = np.array([np.argmax(np.bincount(y[idx[q, :k]])) for q in range(n)])
        cases[str(k)] = {"predictions": pred, "accuracy": float((sk == y).mean()),
                         "vote_ties": sum(p is None for p in pred)}
    frame = pd.DataFrame(x, columns=[f"f{j}" for j in range(d)])
    frame.insert(0, "Metadata_label", [f"class_{c}" for c in y])
    frame.to_csv(OUT / "knn_synth.csv", index=False, float_format="%.9g")
    json.dump({"versions": versions(), "labels": y.tolist(), "k": cases},
              open(OUT / "knn_synth.json", "w"), indent=1)


def knn_ties_fixtures():
    """Leave-one-out kNN where the neighbours' vote often ties: scikit-learn's own predictions.

    Three well-mixed classes in 5 dimensions, so that even k split their vote often; there are
    no similarity ties (checked), so only the vote-tie rule decides. Each query is predicted by
    `KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")` fitted on the other
    rows (leave-one-out by refitting, not by emulating the rule); `vote_ties` counts the queries
    whose top-k vote is tied.
    """
    rng = np.random.default_rng(7)
    n, d, n_classes = 90, 5, 3
    y = np.arange(n) % n_classes
    x = f32(rng.normal(scale=0.35, size=(n_classes, d))[y] + rng.normal(size=(n, d)))
    dist, idx = loo_neighbours(x, n - 1)
    assert (np.diff(dist, axis=1) > 1e-12).all()
    cases = {}
    for k in (2, 4, 6, 10):
        pred = []
        for q in range(n):
            rest = np.delete(np.arange(n), q)
            model = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")
            pred.append(int(model.fit(x[rest], y[rest]).predict(x[q:q + 1])[0]))
        pred = np.array(pred)
        ties = sum(majority(y[idx[q, :k]]) is None for q in range(n))
        cases[str(k)] = {"predictions": pred.tolist(), "accuracy": float((pred == y).mean()),
                         "vote_ties": int(ties)}
    frame = pd.DataFrame(x, columns=[f"f{j}" for j in range(d)])
    frame.insert(0, "Metadata_label", [f"class_{c}" for c in y])
    frame.to_csv(OUT / "knn_ties.csv", index=False, float_format="%.9g")
    json.dump({"versions": versions(), "labels": y.tolist(), "k": cases},
              open(OUT / "knn_ties.json", "w"), indent=1)


def bbbc021_fixtures():
    """BBBC021 MAD-robustized wells averaged per treatment (DMSO dropped): NSC and NSCB 1-NN accuracy."""
    wells = pd.read_csv(ROOT / "benchmarks/data/bbbc021/BBBC021_feature_selected_mad_robustize.csv.gz")
    wells = wells[wells["Metadata_Compound"] != "DMSO"].copy()
    wells["Metadata_Batch"] = wells["Metadata_Plate"].str.split("_").str[0]
    keys = ["Metadata_Compound", "Metadata_Concentration"]
    features = [c for c in wells.columns if not c.startswith("Metadata_")]
    wells[features] = f32(wells[features].to_numpy())
    # Every treatment lies in one batch with one MoA, so these columns survive the grouping.
    assert (wells.groupby(keys)[["Metadata_Batch", "Metadata_moa"]].nunique() == 1).all().all()
    treat = wells.groupby(keys, sort=True).agg(
        {"Metadata_moa": "first", "Metadata_Batch": "first", **{f: "mean" for f in features}}
    ).reset_index()
    x = f32(treat[features].to_numpy())
    treat[features] = x
    treat.to_csv(OUT / "bbbc021_treatments.csv.gz", index=False, float_format="%.9g")
    moa = treat["Metadata_moa"].to_numpy()
    compound = treat["Metadata_Compound"].to_numpy()
    batch = treat["Metadata_Batch"].to_numpy()
    dist, idx = loo_neighbours(x, len(x) - 1)
    result = {"versions": versions(), "n": len(treat)}
    for name, keep in (
        ("nsc", lambda q, j: compound[j] != compound[q]),
        ("nscb", lambda q, j: compound[j] != compound[q] and batch[j] != batch[q]),
    ):
        correct = 0
        for q in range(len(x)):
            cands = [j for j in idx[q] if keep(q, j)]
            # The first kept neighbour must be strictly nearer than the second (tie-free).
            where = list(idx[q]).index(cands[0])
            assert where + 1 == len(idx[q]) or dist[q, where] < dist[q, where + 1] - 1e-12
            correct += int(moa[cands[0]] == moa[q])
        result[name] = {"correct": correct, "accuracy": correct / len(x)}
    json.dump(result, open(OUT / "bbbc021_knn.json", "w"), indent=1)


def logistic_fixtures():
    """LogisticRegression (lbfgs, L2) on overlapping blobs: multinomial, balanced, binary."""
    rng = np.random.default_rng(7)
    n, d = 90, 5
    y3 = np.repeat([0, 1, 2], [45, 30, 15])
    centres = rng.normal(size=(3, d))
    x = f32(centres[y3] + rng.normal(size=(n, d)))
    cases = []
    for name, y, kw in (
        ("multinomial", y3, {"C": 0.5}),
        ("balanced", y3, {"C": 2.0, "class_weight": "balanced"}),
        ("binary", (y3 > 0).astype(int), {"C": 1.0}),
        ("no_intercept", y3, {"C": 1.0, "fit_intercept": False}),
    ):
        model = LogisticRegression(max_iter=100000, tol=1e-12, **kw).fit(x, y)
        cases.append({
            "name": name,
            "y": y.tolist(),
            "c": kw["C"],
            "balanced": kw.get("class_weight") == "balanced",
            "fit_intercept": kw.get("fit_intercept", True),
            "coef": model.coef_.tolist(),
            "intercept": np.atleast_1d(model.intercept_).tolist(),
            "predictions": model.predict(x).tolist(),
            "decision": model.decision_function(x).tolist(),
        })
    json.dump({"versions": versions(), "n": n, "d": d, "x": x.tolist(), "cases": cases},
              open(OUT / "logistic.json", "w"), indent=1)


def leakage_fixtures():
    """Batch predicted from control-like rows under StratifiedGroupKFold (groups = plates).

    Per fold: features standardized on the training rows (StandardScaler), then
    LogisticRegression (C = 1, tight tolerance), 1-NN and 4-NN cosine; balanced accuracy per
    fold.
    The folds themselves are written out so cpbench scores exactly these splits.
    """
    rng = np.random.default_rng(11)
    n_batches, plates_per_batch, rows_per_plate, d = 4, 3, 8, 6
    batch_shift = rng.normal(scale=0.7, size=(n_batches, d))
    plate_shift = rng.normal(scale=0.3, size=(n_batches * plates_per_batch, d))
    plate = np.repeat(np.arange(n_batches * plates_per_batch), rows_per_plate)
    batch = plate // plates_per_batch
    x = f32(batch_shift[batch] + plate_shift[plate] + rng.normal(size=(len(plate), d)))
    folds = []
    for _, test in StratifiedGroupKFold(n_splits=3).split(x, batch, plate):
        folds.append(test.tolist())
    scores = {"logistic": [], "knn": [], "knn_k4": []}
    for test in folds:
        train = np.setdiff1d(np.arange(len(x)), test)
        for name, clf in (
            ("logistic", LogisticRegression(C=1.0, max_iter=100000, tol=1e-12)),
            ("knn", KNeighborsClassifier(n_neighbors=1, metric="cosine", algorithm="brute")),
            # Four voters over four batches: tied votes, decided by scikit-learn's rule.
            ("knn_k4", KNeighborsClassifier(n_neighbors=4, metric="cosine", algorithm="brute")),
        ):
            model = make_pipeline(StandardScaler(), clf).fit(x[train], batch[train])
            scores[name].append(balanced_accuracy_score(batch[test], model.predict(x[test])))
    frame = pd.DataFrame(x, columns=[f"f{j}" for j in range(d)])
    frame.insert(0, "Metadata_Plate", [f"P{p:02d}" for p in plate])
    frame.insert(0, "Metadata_Batch", [f"B{b}" for b in batch])
    frame.insert(0, "Metadata_Type", "control")
    frame.to_csv(OUT / "leakage_synth.csv", index=False, float_format="%.9g")
    json.dump({"versions": versions(), "batch": batch.tolist(), "folds": folds, "balanced_accuracy": scores},
              open(OUT / "leakage.json", "w"), indent=1)


def partition_fixtures():
    """Partition scores of label pairs, degenerate cases included (scikit-learn metrics).

    Purity has no scikit-learn function: it is computed from scikit-learn's contingency matrix
    (sum over clusters of the largest class count, over n); inverse purity swaps the roles.
    """
    from sklearn.metrics import (adjusted_rand_score, homogeneity_completeness_v_measure,
                                 normalized_mutual_info_score)
    from sklearn.metrics.cluster import contingency_matrix

    rng = np.random.default_rng(4)
    cases = [
        ("identical_renamed", [0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9]),
        ("small", [0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]),
        ("one_cluster_both", [3] * 7, [1] * 7),
        ("one_cluster_true", [0] * 6, [0, 1, 2, 0, 1, 2]),
        ("one_cluster_pred", [0, 1, 2, 0, 1, 2], [4] * 6),
        ("all_singletons_both", list(range(9)), list(range(9))),
        ("singletons_vs_one", list(range(9)), [0] * 9),
        ("singletons_vs_pairs", list(range(8)), [0, 0, 1, 1, 2, 2, 3, 3]),
        ("single_item", [0], [0]),
        ("empty", [], []),
        ("independent_like", [0, 0, 1, 1], [0, 1, 0, 1]),
    ]
    for n, kt, kp in ((50, 3, 4), (200, 12, 12), (2000, 14, 20), (1000, 2, 50)):
        cases.append((f"random_{n}_{kt}_{kp}", rng.integers(kt, size=n).tolist(),
                      rng.integers(kp, size=n).tolist()))
    # A noisy copy: clusters mostly follow the classes.
    t = rng.integers(14, size=600)
    p = np.where(rng.random(600) < 0.7, t, rng.integers(14, size=600))
    cases.append(("noisy_copy_600", t.tolist(), p.tolist()))
    out = []
    for name, t, p in cases:
        h, c, v = homogeneity_completeness_v_measure(t, p)
        row = {"name": name, "true": t, "pred": p,
               "nmi": normalized_mutual_info_score(t, p), "ari": adjusted_rand_score(t, p),
               "homogeneity": h, "completeness": c, "v_measure": v}
        if t:
            cm = contingency_matrix(t, p)
            row["purity"] = float(cm.max(axis=0).sum() / cm.sum())
            row["inverse_purity"] = float(cm.max(axis=1).sum() / cm.sum())
        out.append(row)
    json.dump({"versions": versions(), "cases": out}, open(OUT / "partition.json", "w"), indent=1)


def blobs():
    """Overlapping Gaussian blobs (8 centres in 10 dimensions), rounded to float32."""
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=400, n_features=10, centers=8, cluster_std=2.5, random_state=3)
    return f32(x), y


def kmeans_fixtures():
    """KMeans on BBBC021 treatments (k = 12) and on blobs (k = 8): best inertias and restarts.

    The best inertia of KMeans(n_init=R) depends on the seed (at R = 10 on BBBC021 it varies by
    several percent between seeds), so the fixture holds it for several seeds (random_state
    0..S-1) and their median, which is what cpbench's median over as many seeds is compared
    with; plus the mean inertia of single restarts (n_init=1, random_state 0..199), a direct
    check that the initialization is as good as scikit-learn's.
    Needs bbbc021_fixtures() first (it writes the treatment-level profiles read here).
    """
    from sklearn.cluster import KMeans

    treat = pd.read_csv(OUT / "bbbc021_treatments.csv.gz")
    features = [c for c in treat.columns if not c.startswith("Metadata_")]
    x_bbbc = f32(treat[features].to_numpy())
    x_blobs, y_blobs = blobs()
    frame = pd.DataFrame(x_blobs, columns=[f"f{j}" for j in range(x_blobs.shape[1])])
    frame.insert(0, "Metadata_blob", [f"blob_{c}" for c in y_blobs])
    frame.to_csv(OUT / "blobs.csv", index=False, float_format="%.9g")
    cases = []
    for name, x, k in (("bbbc021_treatments", x_bbbc, 12), ("blobs", x_blobs, 8)):
        single = [KMeans(n_clusters=k, n_init=1, random_state=s).fit(x).inertia_ for s in range(200)]
        for r, seeds in ((10, 10), (100, 5)):
            best = [float(KMeans(n_clusters=k, n_init=r, random_state=s).fit(x).inertia_)
                    for s in range(seeds)]
            cases.append({"data": name, "k": k, "n_init": r, "best_inertia_by_seed": best,
                          "median_best_inertia": float(np.median(best)),
                          "single_restart_mean_inertia": float(np.mean(single))})
    json.dump({"versions": versions(), "cases": cases}, open(OUT / "kmeans.json", "w"), indent=1)


def silhouette_fixtures():
    """silhouette_samples / silhouette_score (euclidean, cosine) on blobs, BBBC021 MoAs and batches.

    The scib batch silhouette (labels = MoA, batch = Metadata_Batch) is computed here from
    scikit-learn's silhouette_samples with scib's formula: per MoA with 2 ≤ batches < rows,
    mean of 1 − |s| over its rows; then the mean over those MoAs.
    """
    from sklearn.metrics import silhouette_samples, silhouette_score

    treat = pd.read_csv(OUT / "bbbc021_treatments.csv.gz")
    features = [c for c in treat.columns if not c.startswith("Metadata_")]
    x_bbbc = f32(treat[features].to_numpy())
    moa = treat["Metadata_moa"].to_numpy()
    batch = treat["Metadata_Batch"].to_numpy()
    x_blobs, y_blobs = blobs()
    out = {"versions": versions()}
    for metric in ("euclidean", "cosine"):
        out[f"blobs_{metric}_samples"] = silhouette_samples(x_blobs, y_blobs, metric=metric).tolist()
        out[f"blobs_{metric}_score"] = float(silhouette_score(x_blobs, y_blobs, metric=metric))
        out[f"bbbc021_moa_{metric}_score"] = float(silhouette_score(x_bbbc, moa, metric=metric))
        out[f"bbbc021_batch_{metric}_score"] = float(silhouette_score(x_bbbc, batch, metric=metric))
        means = []
        for label in np.unique(moa):
            rows = moa == label
            nb = len(np.unique(batch[rows]))
            if nb == 1 or nb == rows.sum():
                continue
            s = silhouette_samples(x_bbbc[rows], batch[rows], metric=metric)
            means.append(float(np.mean(1 - np.abs(s))))
        out[f"bbbc021_batch_scib_{metric}"] = float(np.mean(means))
        out[f"bbbc021_batch_scib_{metric}_labels_used"] = len(means)
    json.dump(out, open(OUT / "silhouette.json", "w"), indent=1)


def relations_fixtures():
    """EFAAR known-relationship recall of a random gene embedding (the 272 GRAPE genes).

    EFAAR 1.0's rules, re-implemented (its package is not pinned here): pairs ordered by name,
    self-pairs and duplicates dropped, pairs with a gene outside the map dropped, a source
    scored only if its pairs hold >= 20 distinct first and >= 20 distinct second genes; ranks
    by np.searchsorted on the sorted null (left for the upper tail, right for the lower).  The
    null is every unordered pair of distinct genes (cpbench's exact null; EFAAR samples it),
    and each annotated pair takes its value from that same similarity matrix.
    """
    genes = open(ROOT / "benchmarks/data/grape/perturbed_genes.txt").read().split()
    rng = np.random.default_rng(31)
    x = f32(rng.normal(size=(len(genes), 16)))
    frame = pd.DataFrame(x, columns=[f"f{j}" for j in range(16)])
    frame.insert(0, "Metadata_gene", genes)
    frame.to_csv(OUT / "relations_genes.csv", index=False, float_format="%.9g")
    sims = cosine_similarity(x)
    upper = np.triu_indices(len(genes), k=1)
    null = np.sort(sims[upper])
    row = {g: i for i, g in enumerate(genes)}
    result = {"versions": versions(), "n_null": len(null), "sources": {}}
    for source in ("CORUM", "HuMAP", "Reactome", "SIGNOR", "StringDB"):
        pairs = pd.read_csv(ROOT / f"benchmarks/data/annotations/{source}.pairs.csv.gz")
        ordered = {tuple(sorted(p)) for p in zip(pairs.entity1, pairs.entity2) if p[0] != p[1]}
        kept = sorted(p for p in ordered if p[0] in row and p[1] in row)
        scored = len({a for a, _ in kept}) >= 20 and len({b for _, b in kept}) >= 20
        entry = {"n_pairs": len(kept), "scored": scored, "recall": {}}
        if scored:
            query = np.array([sims[row[a], row[b]] for a, b in kept])
            left = np.searchsorted(null, query, side="left") / len(null)
            right = np.searchsorted(null, query, side="right") / len(null)
            for lo, hi in ((0.05, 0.95), (0.1, 0.9)):
                entry["recall"][f"{lo}_{hi}"] = float(np.mean((right <= lo) | (left >= hi)))
        result["sources"][source] = entry
    json.dump(result, open(OUT / "relations.json", "w"), indent=1)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    knn_fixtures()
    knn_ties_fixtures()
    bbbc021_fixtures()
    logistic_fixtures()
    leakage_fixtures()
    relations_fixtures()
    partition_fixtures()
    kmeans_fixtures()
    silhouette_fixtures()


if __name__ == "__main__":
    main()
