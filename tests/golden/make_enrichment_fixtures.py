#!/usr/bin/env python3
"""Write golden fixtures for cpbench's folds of enrichment and interpolated-precision "MAP".

Reference convention: DeepProfilerExperiments (broadinstitute), `profiling/quality.py`
(`enrichment_analysis`) and `profiling/metrics.py` (`interpolated_precision_recall_curve`),
applied per query as its evaluation notebooks do.  That code is not on PyPI, so this script
re-implements it independently from numpy 2.4.6 and scipy 1.17.1 (pinned in
tests/golden/requirements-enrichment.txt); the p-values and odds ratios come from
`scipy.stats.fisher_exact(table, alternative="greater")` itself.  Usage, from the repository
root:

    python3 -m venv /tmp/ge
    /tmp/ge/bin/pip install -r tests/golden/requirements-enrichment.txt
    /tmp/ge/bin/python tests/golden/make_enrichment_fixtures.py

Everything is written under tests/fixtures/enrichment/:

* synth_*.csv            small synthetic inputs (written first, then read back like the others)
* <case>.queries.csv     one row per query: table, threshold, odds ratios, p-value, interp. AP
* cases.json             manifest: inputs, parameters, summary values, versions

Definitions (cpbench_metrics::enrichment and ::ranking document the same, in Rust):

* Features are every column not starting with "Metadata_", parsed as float64 and rounded to
  float32 (what cpbench's reader stores), then widened to float64 for all arithmetic.
* Similarity: cosine (rows divided by their norm) or Pearson (rows centered, then cosine).
* Labels: one label per row, or with a separator a set of labels (pieces trimmed, empty pieces
  dropped).  Empty cells are missing: such a row matches nothing.  Rows i != j match when they
  share a label.
* Query i: a row matching at least one other row.  Its similarities to the n - 1 other rows
  give threshold = np.percentile(sims, percentile) (linear).  Table: v11 = above (>) and
  matching, v12 = above and not, v21 = at or below and matching, v22 = at or below and not.
  fisher_exact(alternative="greater") gives (odds ratio, p); folds = v22 when the odds ratio
  is infinite, else the odds ratio (NaN stays NaN).  Haldane: (v11+.5)(v22+.5)/((v12+.5)(v21+.5)).
* Folds of enrichment = np.mean over queries (NaN when any query's is NaN).
* Interpolated AP of query i (only rows with >= 2 matching others): scores = sims with the
  query's own entry set to -1 and marked non-matching; scikit-learn's precision_recall_curve as
  DeepProfilerExperiments ran it (releases that stop at full recall; re-implemented below, not
  imported); running max of precision from the full-recall end; filled onto the grid
  np.linspace(0, 1, n)[::-1] with the reference's lagged loop; the query's value is the mean over
  the grid.  The MAP is computed as the reference does: the mean over the grid of the curve
  averaged over queries.

The script is deterministic (fixed seeds, fixed float formatting with repr, sorted JSON).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import platform
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import scipy
from scipy.stats import fisher_exact

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "enrichment"
OUT_REL = "tests/fixtures/enrichment"
LINCS = "benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz"
BBBC021 = "benchmarks/data/bbbc021/BBBC021_feature_selected_mad_robustize.csv.gz"


def read_table(rel: str) -> tuple[list[str], dict[str, list[str]], np.ndarray]:
    """Header, metadata columns as text, features as float32 widened to float64."""
    path = ROOT / rel
    opener = gzip.open if rel.endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    meta_idx = [i for i, h in enumerate(header) if h.startswith("Metadata_")]
    feat_idx = [i for i, h in enumerate(header) if not h.startswith("Metadata_")]
    meta = {header[i]: [r[i] for r in body] for i in meta_idx}
    x = np.array([[float(r[i]) for i in feat_idx] for r in body], dtype=np.float64)
    x = x.astype(np.float32).astype(np.float64)
    return header, meta, x


def similarity_matrix(x: np.ndarray, similarity: str) -> np.ndarray:
    if similarity == "pearson":
        x = x - x.mean(axis=1, keepdims=True)
    elif similarity != "cosine":
        raise ValueError(similarity)
    x = x / np.sqrt((x * x).sum(axis=1, keepdims=True))
    return x @ x.T


def label_sets(values: list[str], sep: str | None) -> list[frozenset[str]]:
    out = []
    for v in values:
        if sep is None:
            out.append(frozenset([v]) if v != "" else frozenset())
        else:
            out.append(frozenset(p.strip() for p in v.split(sep) if p.strip() != ""))
    return out


def pr_curve_stopping_at_full_recall(y_true: np.ndarray, y_score: np.ndarray):
    """scikit-learn's precision_recall_curve before it kept the points past full recall."""
    desc = np.argsort(y_score, kind="mergesort")[::-1]
    y_score = y_score[desc]
    y_true = y_true[desc]
    distinct = np.where(np.diff(y_score))[0]
    thresholds_idx = np.r_[distinct, y_true.size - 1]
    tps = np.cumsum(y_true, dtype=np.float64)[thresholds_idx]
    fps = 1 + thresholds_idx - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    last = tps.searchsorted(tps[-1])
    sl = slice(last, None, -1)
    return np.r_[precision[sl], 1], np.r_[recall[sl], 0]


def interpolated_curve(sims: np.ndarray, matches: np.ndarray, i: int, grid: np.ndarray) -> np.ndarray:
    scores = sims.copy()
    truth = matches.copy()
    scores[i] = -1.0
    truth[i] = False
    precision, recall = pr_curve_stopping_at_full_recall(truth, scores)
    best = np.maximum.accumulate(precision)
    interp = np.zeros_like(grid)
    j = 0
    for k in range(grid.shape[0]):
        interp[k] = best[j]
        while grid[k] < recall[j]:
            j += 1
    return interp


def run_case(case: dict) -> dict:
    _, meta, x = read_table(case["input"])
    n = x.shape[0]
    sets = label_sets(meta[case["labels"]], case["sep"])
    s = similarity_matrix(x, case["similarity"])
    grid = np.linspace(0.0, 1.0, num=n)[::-1]
    rows, curves = [], []
    for i in range(n):
        match = np.array([j != i and len(sets[i] & sets[j]) > 0 for j in range(n)])
        n_match = int(match.sum())
        if n_match == 0:
            continue
        keep = np.arange(n) != i
        others, m = s[i, keep], match[keep]
        t = np.percentile(others, case["percentile"])
        v11 = int(np.sum((others > t) & m))
        v12 = int(np.sum((others > t) & ~m))
        v21 = int(np.sum((others <= t) & m))
        v22 = int(np.sum((others <= t) & ~m))
        odds, p = fisher_exact([[v11, v12], [v21, v22]], alternative="greater")
        odds, p = float(odds), float(p)
        folds = float(v22) if math.isinf(odds) else odds
        haldane = (v11 + 0.5) * (v22 + 0.5) / ((v12 + 0.5) * (v21 + 0.5))
        iap = None
        if n_match >= 2:
            curve = interpolated_curve(s[i], match, i, grid)
            curves.append(curve[:, np.newaxis])
            iap = float(np.mean(curve))
        rows.append(
            dict(row=i, n_matches=n_match, threshold=float(t), v11=v11, v12=v12, v21=v21, v22=v22,
                 odds_ratio=odds, folds=folds, haldane_odds_ratio=haldane, p_value=p,
                 interpolated_ap=iap)
        )
    folds_mean = float(np.mean([r["folds"] for r in rows]))
    interp_map = float(np.mean(np.mean(np.concatenate(curves, axis=1), axis=1))) if curves else None
    qfile = f"{case['name']}.queries.csv"
    cols = ["row", "n_matches", "threshold", "v11", "v12", "v21", "v22", "odds_ratio", "folds",
            "haldane_odds_ratio", "p_value", "interpolated_ap"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r[c] is None else (repr(r[c]) if isinstance(r[c], float) else r[c]) for c in cols])
    (OUT / qfile).write_text(buf.getvalue())
    finite = lambda v: None if v is None or math.isnan(v) else v  # noqa: E731 (JSON has no NaN)
    return dict(
        case,
        n_profiles=n,
        n_queries=len(rows),
        folds_of_enrichment=finite(folds_mean),
        haldane_folds_of_enrichment=float(np.mean([r["haldane_odds_ratio"] for r in rows])),
        mean_p_value=float(np.mean([r["p_value"] for r in rows])),
        n_infinite_odds_ratios=sum(math.isinf(r["odds_ratio"]) for r in rows),
        n_undefined_odds_ratios=sum(math.isnan(r["odds_ratio"]) for r in rows),
        interpolated_map=finite(interp_map),
        n_interpolated_map_queries=len(curves),
        queries=f"{OUT_REL}/{qfile}",
    )


def write_synthetic() -> None:
    """Inputs whose similarities are exact dyadic rationals, so ties are real ties in both
    implementations: every row has entries in {-1, 0, 1} with 4 non-zeros (norm 2), so cosines
    are multiples of 1/4 computed without rounding."""
    rng = np.random.default_rng(20240611)
    n, d = 48, 8
    x = np.zeros((n, d))
    for i in range(n):
        cols = rng.choice(d, size=4, replace=False)
        x[i, cols] = rng.choice([-1.0, 1.0], size=4)
    x[5] = x[4]  # exact duplicates
    x[17] = x[4]
    pool = ["alpha", "beta", "gamma", "delta", "beta|gamma", "epsilon", ""]
    labels = [pool[int(k)] for k in rng.integers(0, len(pool), size=n)]
    labels[47] = "zeta"  # a singleton: never a query, always a non-match
    with open(OUT / "synth_ties.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["Metadata_id", "Metadata_label"] + [f"f{k}" for k in range(d)])
        for i in range(n):
            w.writerow([f"r{i}", labels[i]] + [repr(float(v)) for v in x[i]])
    # Every row shares the one label: v12 + v22 = 0 for every query, odds ratios undefined.
    with open(OUT / "synth_all_match.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["Metadata_id", "Metadata_label", "f0", "f1", "f2"])
        for i in range(7):
            w.writerow([f"r{i}", "same", repr(float(i % 3 - 1)), repr(float(i % 2)), "1.0"])


CASES = [
    dict(name="lincs_moa_multilabel_cosine", input=LINCS, labels="Metadata_moa", sep="|",
         similarity="cosine", percentile=99.0),
    dict(name="lincs_broad_sample_cosine", input=LINCS, labels="Metadata_broad_sample", sep=None,
         similarity="cosine", percentile=99.0),
    dict(name="lincs_moa_multilabel_pearson_p95", input=LINCS, labels="Metadata_moa", sep="|",
         similarity="pearson", percentile=95.0),
    dict(name="bbbc021_moa_cosine", input=BBBC021, labels="Metadata_moa", sep=None,
         similarity="cosine", percentile=99.0),
    dict(name="synth_ties_multilabel", input=f"{OUT_REL}/synth_ties.csv", labels="Metadata_label",
         sep="|", similarity="cosine", percentile=90.0),
    dict(name="synth_ties_single", input=f"{OUT_REL}/synth_ties.csv", labels="Metadata_label",
         sep=None, similarity="cosine", percentile=99.0),
    dict(name="synth_all_match", input=f"{OUT_REL}/synth_all_match.csv", labels="Metadata_label",
         sep=None, similarity="cosine", percentile=99.0),
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write_synthetic()
    cases = []
    for case in CASES:
        r = run_case(case)
        print(f"{r['name']}: {r['n_queries']} queries, folds {r['folds_of_enrichment']}, "
              f"interpolated MAP {r['interpolated_map']}")
        cases.append(r)
    manifest = dict(
        generator="tests/golden/make_enrichment_fixtures.py",
        reference="DeepProfilerExperiments enrichment_analysis + interpolated_precision_recall_curve "
                  "(re-implemented; scipy.stats.fisher_exact for the tests)",
        python=platform.python_version(),
        numpy=np.__version__,
        scipy=scipy.__version__,
        packages={p: importlib_metadata.version(p) for p in ["numpy", "scipy"]},
        cases=cases,
    )
    text = json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n"
    (OUT / "cases.json").write_text(text)


if __name__ == "__main__":
    main()
