#!/usr/bin/env python3
"""Write golden fixtures for cpbench's average-precision / mAP implementation.

Reference implementation: copairs 0.5.5 (pinned, with its dependencies, in
tests/golden/requirements-copairs.txt).  Usage, from the repository root:

    python3 -m venv /tmp/gc
    /tmp/gc/bin/pip install -r tests/golden/requirements-copairs.txt
    /tmp/gc/bin/python tests/golden/make_copairs_fixtures.py

Everything is written under tests/fixtures/copairs/:

* synth_*.csv           small synthetic inputs (written first, then read back)
* <case>.ap.csv         per-profile AP table as returned by copairs
* <case>.map.csv        per-group mAP table as returned by copairs
* cases.json            manifest: inputs, rules, parameters, outputs, errors

The script is deterministic: fixed seeds, a fresh empty copairs null cache
for every mean_average_precision call, fixed float formatting, sorted JSON.
Running it twice gives byte-identical files.  Timings go to stdout only.

Besides calling copairs, the script re-derives every AP table, every mAP,
every p-value and every BH q-value with an independent implementation of
the semantics written down in tests/fixtures/copairs/SEMANTICS.md and
aborts if anything disagrees, so that note is checked, not just asserted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import platform
import tempfile
import time
import warnings
from fractions import Fraction
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd

from copairs import compute as cp_compute
from copairs import map as cp_map
from copairs.map import multilabel as cp_multilabel
from copairs.matching import assign_reference_index

warnings.filterwarnings("ignore", category=RuntimeWarning)  # 0/0 in cosine of a zero row

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "copairs"
OUT_REL = "tests/fixtures/copairs"

FEATURE_RULE = "every column whose name does not start with 'Metadata_', in file order"
NEAR_TIE_EPS = 1e-6  # |sim_pos - sim_neg| below this (but not 0) marks a rank list as fragile
EXACT_SUPPORT_LIMIT = 100_000  # enumerate the null exactly when its support is this small

# --------------------------------------------------------------------------
# formatting helpers
# --------------------------------------------------------------------------


def fmt_float(x) -> str:
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "%.17g" % x


def fmt_cell(x) -> str:
    if x is None:
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "true" if x else "false"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return fmt_float(x)
    return str(x)


def write_csv(path: Path, header, rows) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([fmt_cell(v) for v in r])
    path.write_bytes(buf.getvalue().encode("utf-8"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# synthetic inputs
# --------------------------------------------------------------------------


def write_synth(name: str, meta_cols, meta_rows, feats: np.ndarray) -> Path:
    """Metadata as given (None -> empty field), features with repr (round-trip)."""
    path = OUT / name
    header = list(meta_cols) + [f"feature_{j:02d}" for j in range(feats.shape[1])]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for m, f in zip(meta_rows, feats):
        w.writerow(["" if v is None else str(v) for v in m] + [repr(float(v)) for v in f])
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return path


def make_synthetic() -> dict:
    paths = {}

    # -- synth_basic: 8 groups x 4, 6 features, planted exact ties ----------
    rng = np.random.default_rng(20240501)
    n_groups, reps, d = 8, 4, 6
    centers = rng.normal(size=(n_groups, d))
    X = np.repeat(centers, reps, axis=0) + 0.8 * rng.normal(size=(n_groups * reps, d))
    X = np.round(X, 4)
    X[1] = X[2]  # duplicate profile inside G00 (positive/positive tie)
    X[4] = X[3]  # G01 row 4 == G00 row 3 (positive/negative tie for G00, G01 queries)
    X[9] = 2.0 * X[5]  # G02 row 9 == 2 x G01 row 5: tie for cosine/correlation only
    X[13] = -X[6]  # G03 row 13 == -G01 row 6: tie for abs_cosine only
    X[28:32] = X[24:28]  # G07 is an exact copy of G06
    groups = [f"G{g:02d}" for g in range(n_groups) for _ in range(reps)]
    paths["synth_basic.csv"] = write_synth(
        "synth_basic.csv", ["Metadata_group"], [[g] for g in groups], X
    )

    # -- synth_structure: singletons, a plate with one group, batches, NaN ---
    rng = np.random.default_rng(7)
    d = 5
    sizes = {f"G{g:02d}": 6 for g in range(6)}
    singles = ["S00", "S01", "S02", "S03"]
    centers = {k: rng.normal(size=d) for k in list(sizes) + singles}
    rows, feats = [], []
    plate_cycle = ["P1", "P2", "P3"]
    i = 0
    for g, n in sizes.items():
        for r in range(n):
            plate = "P4" if g == "G05" else plate_cycle[(i + r) % 3]
            batch = "B1" if r % 2 == 0 else "B2"
            rows.append([g, plate, batch])
            feats.append(centers[g] + 0.9 * rng.normal(size=d))
        i += 1
    for s_i, s in enumerate(singles):
        rows.append([s, plate_cycle[s_i % 3], "B1" if s_i % 2 == 0 else "B2"])
        feats.append(centers[s] + 0.9 * rng.normal(size=d))
    # interleave deterministically so groups are not contiguous
    order = np.random.default_rng(11).permutation(len(rows))
    rows = [rows[k] for k in order]
    feats = np.round(np.array(feats)[order], 4)
    na_rows = {3, 17, 38}
    note_na = {0, 5, 9}
    meta_rows = []
    for k, (g, p, b) in enumerate(rows):
        meta_rows.append(
            [g, p, b, None if k in na_rows else g, None if k in note_na else f"note{k % 4}"]
        )
    paths["synth_structure.csv"] = write_synth(
        "synth_structure.csv",
        ["Metadata_group", "Metadata_plate", "Metadata_batch", "Metadata_group_na", "Metadata_note"],
        meta_rows,
        feats,
    )

    # -- synth_multilabel: 12 compounds x 3, overlapping pipe-separated labels
    rng = np.random.default_rng(99)
    d = 8
    cpd_labels = ["A", "A|B", "B", "B|C", "C", "A|C", "D", "D|E", "E", "A|B|C", "F", "G|A"]
    label_centers = {lab: rng.normal(size=d) for lab in "ABCDEFG"}
    rows, feats = [], []
    for c, labs in enumerate(cpd_labels):
        offset = 0.5 * rng.normal(size=d)
        base = sum(label_centers[lab] for lab in labs.split("|")) + offset
        for _ in range(3):
            rows.append([f"C{c:02d}", labs])
            feats.append(base + 0.8 * rng.normal(size=d))
    feats = np.round(np.array(feats), 4)
    paths["synth_multilabel.csv"] = write_synth(
        "synth_multilabel.csv", ["Metadata_compound", "Metadata_labels"], rows, feats
    )

    # -- synth_reference: 7 DMSO + compounds with 3, 4 and 1 replicates ------
    rng = np.random.default_rng(5)
    d = 7
    comp = ["DMSO"] * 7 + [f"K{c:02d}" for c in range(6) for _ in range(3)] + ["K06"] * 4 + ["K07"]
    perm = np.random.default_rng(6).permutation(len(comp))
    comp = [comp[k] for k in perm]
    cent = {c: (0.0 if c == "DMSO" else 1.0) * rng.normal(size=d) for c in sorted(set(comp))}
    strength = {c: s for c, s in zip(sorted(set(comp)), [0.0, 2.0, 1.5, 1.0, 0.6, 0.3, 0.1, 1.2, 0.8])}
    feats = np.array([strength[c] * cent[c] + rng.normal(size=d) for c in comp])
    feats = np.round(feats, 4)
    paths["synth_reference.csv"] = write_synth(
        "synth_reference.csv", ["Metadata_compound"], [[c] for c in comp], feats
    )

    # -- synth_zero: an all-zero row and a constant row -----------------------
    rng = np.random.default_rng(3)
    d = 5
    grp = [f"G{g}" for g in range(5) for _ in range(4)]
    centers = rng.normal(size=(5, d))
    feats = np.repeat(centers, 4, axis=0) + 0.7 * rng.normal(size=(20, d))
    feats = np.round(feats, 4)
    feats[0] = 0.0  # zero vector: cosine undefined (NaN similarity)
    feats[5] = 0.5  # constant vector: Pearson undefined (NaN similarity)
    paths["synth_zero.csv"] = write_synth("synth_zero.csv", ["Metadata_group"], [[g] for g in grp], feats)
    return paths


# --------------------------------------------------------------------------
# input loading
# --------------------------------------------------------------------------


def load_profiles(path: Path):
    """Metadata via pandas; features parsed with Python's correctly rounded float()."""
    df = pd.read_csv(path, low_memory=False)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, low_memory=False)
    feat_cols = [c for c in df.columns if not c.startswith("Metadata_")]
    feats = np.array([[float(v) for v in raw[c]] for c in feat_cols], dtype=np.float64).T.copy()
    meta = df[[c for c in df.columns if c.startswith("Metadata_")]].copy()
    meta["__row"] = np.arange(len(df))
    return meta, feats, feat_cols


# --------------------------------------------------------------------------
# independent re-derivation of copairs' semantics (checks SEMANTICS.md)
# --------------------------------------------------------------------------

PAIRWISE = {
    "cosine": cp_compute.pairwise_cosine,
    "abs_cosine": cp_compute.pairwise_abs_cosine,
    "correlation": cp_compute.pairwise_corr,
    "euclidean": cp_compute.pairwise_euclidean,
    "manhattan": cp_compute.pairwise_manhattan,
    "chebyshev": cp_compute.pairwise_chebyshev,
}


def sim_matrix64(feats: np.ndarray, distance: str) -> np.ndarray:
    """Similarity of every unordered pair, float64, same row-wise formula as copairs."""
    n = len(feats)
    fn = PAIRWISE.get(distance) or (lambda x, y: cp_compute._cdist_diag_sim(x, y, distance))
    iu, ju = np.triu_indices(n, k=1)
    out = np.full((n, n), np.nan)
    step = 4000
    for s in range(0, len(iu), step):
        a, b = iu[s : s + step], ju[s : s + step]
        v = np.asarray(fn(feats[a], feats[b]), dtype=np.float64)
        out[a, b] = v
        out[b, a] = v
    return out


def rule_masks(meta: pd.DataFrame, same, diff, ml_col):
    """Boolean n x n mask for a (sameby, diffby) rule, i != j, ml_col handled as sets."""
    n = len(meta)
    m = ~np.eye(n, dtype=bool)
    for c in same:
        if c == ml_col:
            continue  # handled per label by the caller
        v = meta[c].to_numpy(dtype=object)
        m &= v[:, None] == v[None, :]
    for c in diff:
        if c == ml_col:
            sets = [frozenset(x) for x in meta[c]]
            share = np.array([[bool(a & b) for b in sets] for a in sets])
            m &= ~share
            continue
        v = meta[c].to_numpy(dtype=object)
        m &= v[:, None] != v[None, :]
    return m


def ap_from_keys(kp: np.ndarray, kn: np.ndarray):
    """AP of one rank list: keys ascending, positives before negatives on ties, NaN last."""
    M = len(kp)
    if M == 0:
        return float("nan")
    kp = np.sort(kp)  # NaN sorts last
    fin_n = kn[~np.isnan(kn)]
    total = 0.0
    for r, k in enumerate(kp, start=1):
        before = len(fin_n) if np.isnan(k) else int(np.sum(fin_n < k))
        total += r / (r + before)
    return total / M


def reference_ap(meta, feats, rules, distance, ml_col):
    """Returns dict keyed by (row position, label or None) -> stats."""
    sims64 = sim_matrix64(feats, distance)
    sims32 = sims64.astype(np.float32)
    keys = (np.float32(1.0) - sims32).astype(np.float32)
    pos = rule_masks(meta, rules["pos_sameby"], rules["pos_diffby"], ml_col)
    neg = rule_masks(meta, rules["neg_sameby"], rules["neg_diffby"], ml_col)
    if ml_col is not None and ml_col in rules["neg_sameby"]:
        sets = [frozenset(x) for x in meta[ml_col]]
        neg &= np.array([[bool(a & b) for b in sets] for a in sets])
    res = {}
    n = len(meta)

    def stats(i, pmask, nmask):
        kp, kn = keys[i, pmask], keys[i, nmask]
        sp, sn = sims64[i, pmask], sims64[i, nmask]
        exact = bool(len(kp) and len(kn) and (np.isin(kp, kn).any()
                                               or (np.isnan(kp).any() and np.isnan(kn).any())))
        if len(sp) and len(sn):
            gap = np.abs(sp[:, None] - sn[None, :])
            near = bool(np.any((gap > 0) & (gap < NEAR_TIE_EPS)))
        else:
            near = False
        return dict(ap=ap_from_keys(kp, kn), n_pos=int(pmask.sum()), n_total=int(pmask.sum() + nmask.sum()),
                    exact_tie=exact, near_tie=near)

    if ml_col is None:
        for i in range(n):
            res[(i, None)] = stats(i, pos[i], neg[i])
    else:
        sets = [frozenset(x) for x in meta[ml_col]]
        for i in range(n):
            for lab in sorted(sets[i]):
                pm = pos[i] & np.array([lab in s for s in sets])
                if pm.any():
                    res[(i, lab)] = stats(i, pm, neg[i])
    return res


def bh(p: np.ndarray) -> np.ndarray:
    n = len(p)
    order = np.argsort(p, kind="mergesort")
    ps = p[order]
    raw = ps / (np.arange(1, n + 1) / float(n))
    q = np.minimum.accumulate(raw[::-1])[::-1]
    q[q > 1] = 1
    out = np.empty(n)
    out[order] = q
    return out


def ap_exact_distribution(k: int, n: int) -> dict:
    dist = {}
    for pos in itertools.combinations(range(n), k):
        v = sum(Fraction(r + 1, p + 1) for r, p in enumerate(pos)) / k
        dist[v] = dist.get(v, 0) + 1
    tot = math.comb(n, k)
    return {v: Fraction(c, tot) for v, c in dist.items()}


_EXACT_CACHE: dict = {}


def exact_null_tail(confs: dict, observed: float):
    """P(null > obs), P(null >= obs) for copairs' group null (shared rows per config).

    null = sum_c (m_c / m) * X_c with X_c independent AP of a random rank list of
    configuration c.  Equality is |null - obs| <= 1e-9 * max(1, |obs|).
    """
    support = 1
    for (k, n) in confs:
        support *= math.comb(n, k)
    if support > EXACT_SUPPORT_LIMIT:
        return float("nan"), float("nan")
    m = sum(confs.values())
    acc = {Fraction(0): Fraction(1)}
    for (k, n), mult in sorted(confs.items()):
        if (k, n) not in _EXACT_CACHE:
            _EXACT_CACHE[(k, n)] = ap_exact_distribution(k, n)
        w = Fraction(mult, m)
        new = {}
        for a, pa in acc.items():
            for b, pb in _EXACT_CACHE[(k, n)].items():
                key = a + w * b
                new[key] = new.get(key, 0) + pa * pb
        acc = new
    tol = 1e-9 * max(1.0, abs(observed))
    gt = sum(p for v, p in acc.items() if float(v) > observed + tol)
    ge = sum(p for v, p in acc.items() if float(v) >= observed - tol)
    return float(gt), float(ge)


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------

LINCS = "benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz"
BBBC = "benchmarks/data/bbbc021/BBBC021_feature_selected_mad_robustize.csv.gz"


def rules(ps, pd_, ns, nd):
    return {"pos_sameby": ps, "pos_diffby": pd_, "neg_sameby": ns, "neg_diffby": nd}


def build_cases():
    cases = []
    cases.append(dict(
        id="lincs_activity_vs_dmso",
        description="LINCS plate, phenotypic activity: each compound well ranks its same-compound "
                    "wells against the 24 DMSO wells (copairs tutorial pattern with "
                    "assign_reference_index). DMSO rows stay in the AP table (no positives, NaN AP) "
                    "and are dropped before mAP as in the tutorial.",
        input=LINCS,
        prefilter=None,
        reference={"condition": "Metadata_broad_sample == 'DMSO'", "reference_col": "Metadata_Reference",
                   "default_value": -1},
        multilabel=None,
        distance="cosine",
        rules=rules(["Metadata_broad_sample", "Metadata_Reference"], [], [],
                    ["Metadata_broad_sample", "Metadata_Reference"]),
        map=dict(sameby=["Metadata_broad_sample"], null_size=10000, threshold=0.05, seed=0,
                 input_filter={"column": "Metadata_broad_sample", "op": "!=", "value": "DMSO"}),
    ))
    cases.append(dict(
        id="lincs_replicates_all_vs_all",
        description="LINCS plate, replicate consistency without reference: positives = same "
                    "Metadata_broad_sample (the 6 doses of a compound; 23 other DMSO wells for a "
                    "DMSO well), negatives = every well of another broad_sample.",
        input=LINCS, prefilter=None, reference=None, multilabel=None, distance="cosine",
        rules=rules(["Metadata_broad_sample"], [], [], ["Metadata_broad_sample"]),
        map=dict(sameby=["Metadata_broad_sample"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
    ))
    cases.append(dict(
        id="lincs_moa_multilabel",
        description="LINCS plate, MoA consistency with copairs.map.multilabel.average_precision on "
                    "pipe-separated Metadata_moa, wells scored directly. Rows with missing MoA "
                    "(24 DMSO + 3 compounds x 6 wells) are dropped first. One AP row per "
                    "(well, MoA label that has at least one positive partner).",
        input=LINCS,
        prefilter={"drop_rows_where_missing": "Metadata_moa"},
        reference=None,
        multilabel={"column": "Metadata_moa", "separator": "|"},
        distance="cosine",
        rules=rules(["Metadata_moa"], [], [], ["Metadata_moa"]),
        map=dict(sameby=["Metadata_moa"], null_size=10000, threshold=0.05, seed=0, input_filter=None),
    ))
    cases.append(dict(
        id="bbbc021_moa_not_same_compound",
        description="BBBC021 wells, MoA retrieval excluding the same compound: positives share "
                    "Metadata_moa and differ in Metadata_Compound, negatives differ in Metadata_moa. "
                    "DMSO wells (Metadata_moa == 'DMSO') are dropped first.",
        input=BBBC,
        prefilter={"drop_rows_where_equal": {"Metadata_moa": "DMSO"}},
        reference=None, multilabel=None, distance="cosine",
        rules=rules(["Metadata_moa"], ["Metadata_Compound"], [], ["Metadata_moa"]),
        map=dict(sameby=["Metadata_moa"], null_size=10000, threshold=0.05, seed=0, input_filter=None),
    ))
    basic_rules = rules(["Metadata_group"], [], [], ["Metadata_group"])
    for dist in ["cosine", "abs_cosine", "correlation", "euclidean", "manhattan", "chebyshev", "sqeuclidean"]:
        cases.append(dict(
            id=f"synth_basic_{dist}",
            description=f"synthetic 8 groups x 4 with planted exact ties (duplicate rows within and "
                        f"across groups, a 2x-scaled row, a negated row, a duplicated group); "
                        f"distance='{dist}'"
                        + (" (not a copairs built-in: goes through scipy cdist, similarity 1/(1+d))"
                           if dist == "sqeuclidean" else ""),
            input=f"{OUT_REL}/synth_basic.csv", prefilter=None, reference=None, multilabel=None,
            distance=dist, rules=basic_rules,
            map=dict(sameby=["Metadata_group"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
        ))
    st = f"{OUT_REL}/synth_structure.csv"
    cases.append(dict(
        id="synth_singletons",
        description="4 singleton groups (S00..S03): no positives -> NaN AP, n_pos_pairs 0, excluded "
                    "from mAP. Metadata_group_na/Metadata_note contain NaN but are unused: no error.",
        input=st, prefilter=None, reference=None, multilabel=None, distance="cosine",
        rules=rules(["Metadata_group"], [], [], ["Metadata_group"]),
        map=dict(sameby=["Metadata_group"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
    ))
    cases.append(dict(
        id="synth_no_negatives",
        description="negatives must share the plate: G05 is alone on plate P4, so its wells have "
                    "positives but no negatives -> AP exactly 1, normalized AP 0, group p = 1/(T+1).",
        input=st, prefilter=None, reference=None, multilabel=None, distance="cosine",
        rules=rules(["Metadata_group"], [], ["Metadata_plate"], ["Metadata_group"]),
        map=dict(sameby=["Metadata_group"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
    ))
    cases.append(dict(
        id="synth_pos_diffby_plate",
        description="positives: same group on a different plate; negatives: other group on the same "
                    "plate. G05 (all on P4) has no positives; singletons none either.",
        input=st, prefilter=None, reference=None, multilabel=None, distance="cosine",
        rules=rules(["Metadata_group"], ["Metadata_plate"], ["Metadata_plate"], ["Metadata_group"]),
        map=dict(sameby=["Metadata_group"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
    ))
    cases.append(dict(
        id="synth_pos_neg_overlap",
        description="overlapping rules: positives = same group, negatives = different batch. A "
                    "same-group/different-batch pair is BOTH a positive and a negative: it enters "
                    "the rank list twice and counts twice in n_total_pairs.",
        input=st, prefilter=None, reference=None, multilabel=None, distance="cosine",
        rules=rules(["Metadata_group"], [], [], ["Metadata_batch"]),
        map=dict(sameby=["Metadata_group"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
    ))
    cases.append(dict(
        id="synth_missing_label_error",
        description="Metadata_group_na is NaN (empty field) in 3 rows and is used by the rules: "
                    "copairs refuses (ValueError) before pairing. No output files.",
        input=st, prefilter=None, reference=None, multilabel=None, distance="cosine",
        rules=rules(["Metadata_group_na"], [], [], ["Metadata_group_na"]),
        map=None, expect_error=True,
    ))
    cases.append(dict(
        id="synth_missing_label_dropped",
        description="same rules as synth_missing_label_error after dropping the rows whose "
                    "Metadata_group_na is missing (what users do).",
        input=st, prefilter={"drop_rows_where_missing": "Metadata_group_na"}, reference=None,
        multilabel=None, distance="cosine",
        rules=rules(["Metadata_group_na"], [], [], ["Metadata_group_na"]),
        map=dict(sameby=["Metadata_group_na"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
    ))
    ml = f"{OUT_REL}/synth_multilabel.csv"
    cases.append(dict(
        id="synth_multilabel",
        description="12 compounds x 3 wells with overlapping pipe-separated labels (A, A|B, B|C, "
                    "A|B|C, G|A, ...). Positives for label L: both wells carry L; negatives: no "
                    "label in common.",
        input=ml, prefilter=None, reference=None,
        multilabel={"column": "Metadata_labels", "separator": "|"}, distance="cosine",
        rules=rules(["Metadata_labels"], [], [], ["Metadata_labels"]),
        map=dict(sameby=["Metadata_labels"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
    ))
    cases.append(dict(
        id="synth_multilabel_not_same_compound",
        description="as synth_multilabel, positives must also differ in Metadata_compound; labels F "
                    "and G occur in one compound only, so they produce no AP rows.",
        input=ml, prefilter=None, reference=None,
        multilabel={"column": "Metadata_labels", "separator": "|"}, distance="cosine",
        rules=rules(["Metadata_labels"], ["Metadata_compound"], [], ["Metadata_labels"]),
        map=dict(sameby=["Metadata_labels"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
    ))
    cases.append(dict(
        id="synth_reference",
        description="small activity-vs-control case (7 DMSO, compounds with 3, 4 and 1 replicates): "
                    "configurations (2,9) and (3,10) are small enough to enumerate the null exactly "
                    "(see exact_p_gt/exact_p_ge). mAP grouped by both pos_sameby columns, as in the "
                    "tutorial.",
        input=f"{OUT_REL}/synth_reference.csv", prefilter=None,
        reference={"condition": "Metadata_compound == 'DMSO'", "reference_col": "Metadata_Reference",
                   "default_value": -1},
        multilabel=None, distance="cosine",
        rules=rules(["Metadata_compound", "Metadata_Reference"], [], [],
                    ["Metadata_compound", "Metadata_Reference"]),
        map=dict(sameby=["Metadata_compound", "Metadata_Reference"], null_size=10000, threshold=0.05,
                 seed=0, input_filter={"column": "Metadata_compound", "op": "!=", "value": "DMSO"}),
    ))
    for dist in ["cosine", "correlation"]:
        cases.append(dict(
            id=f"synth_zero_{dist}",
            description="row 0 is all zeros (cosine undefined) and row 5 is constant (Pearson "
                        f"undefined); distance='{dist}'. Undefined similarities are NaN and rank "
                        "after every finite one.",
            input=f"{OUT_REL}/synth_zero.csv", prefilter=None, reference=None, multilabel=None,
            distance=dist, rules=basic_rules,
            map=dict(sameby=["Metadata_group"], null_size=1000, threshold=0.05, seed=0, input_filter=None),
        ))
    return cases


# --------------------------------------------------------------------------
# running one case
# --------------------------------------------------------------------------


def used_columns(case):
    cols = []
    for key in ("pos_sameby", "pos_diffby", "neg_sameby", "neg_diffby"):
        for c in case["rules"][key]:
            if c not in cols:
                cols.append(c)
    if case.get("map"):
        for c in case["map"]["sameby"]:
            if c not in cols:
                cols.append(c)
    return cols


def run_case(case, loaded):
    t0 = time.perf_counter()
    meta_all, feats_all, feat_cols = loaded[case["input"]]
    meta, feats = meta_all.copy(), feats_all

    keep = np.ones(len(meta), dtype=bool)
    pf = case.get("prefilter")
    if pf:
        if "drop_rows_where_missing" in pf:
            keep &= ~meta[pf["drop_rows_where_missing"]].isna().to_numpy()
        if "drop_rows_where_equal" in pf:
            for c, v in pf["drop_rows_where_equal"].items():
                keep &= (meta[c] != v).to_numpy()
    meta = meta.loc[keep].reset_index(drop=True)
    feats = feats[keep]
    if case.get("reference"):
        ref = case["reference"]
        meta = assign_reference_index(meta, ref["condition"], reference_col=ref["reference_col"],
                                      default_value=ref["default_value"])
    cols = used_columns(case)
    ml = case.get("multilabel")
    ml_col = ml["column"] if ml else None
    # like the tutorial, hand copairs every metadata column (unused ones must not matter)
    meta_in = meta[[c for c in meta.columns if c != "__row"]].copy()
    meta_in["__pos"] = np.arange(len(meta_in))  # unused by the rules; lets us map AP rows back
    if ml_col:
        meta_in[ml_col] = meta_in[ml_col].map(lambda s: s.split(ml["separator"]))
    rows_used = meta["__row"].to_numpy()

    entry = {k: case[k] for k in ("id", "description", "distance", "prefilter", "reference", "multilabel")}
    entry["input"] = case["input"]
    entry["rules"] = case["rules"]
    entry["n_rows_scored"] = int(len(meta_in))
    entry["feature_columns"] = FEATURE_RULE
    entry["n_features"] = int(feats.shape[1])
    entry["batch_size"] = 20000
    entry["metadata_columns_used"] = cols
    entry["copairs_call"] = ("copairs.map.multilabel.average_precision(multilabel_col=%r)" % ml_col if ml_col
                             else "copairs.map.average_precision")

    r = case["rules"]
    if case.get("expect_error"):
        try:
            cp_map.average_precision(meta_in, feats, r["pos_sameby"], r["pos_diffby"], r["neg_sameby"],
                                     r["neg_diffby"], distance=case["distance"], progress_bar=False)
        except Exception as e:  # noqa: BLE001 - we record whatever copairs raises
            entry["expect_error"] = {"type": type(e).__name__, "message": str(e)}
        else:
            raise SystemExit(f"{case['id']}: expected copairs to fail")
        entry["ap"] = None
        entry["map"] = None
        return entry, {"ap": time.perf_counter() - t0, "map": 0.0, "check": 0.0}

    # ---- copairs AP -------------------------------------------------------
    t_ap = time.perf_counter()
    if ml_col:
        ap = cp_multilabel.average_precision(meta_in, feats, r["pos_sameby"], r["pos_diffby"], r["neg_sameby"],
                                             r["neg_diffby"], multilabel_col=ml_col,
                                             distance=case["distance"], progress_bar=False)
    else:
        ap = cp_map.average_precision(meta_in, feats, r["pos_sameby"], r["pos_diffby"], r["neg_sameby"],
                                      r["neg_diffby"], distance=case["distance"], progress_bar=False)
    t_ap = time.perf_counter() - t_ap

    # position of each AP row in meta_in (carried through copairs as an unused column)
    pos_idx = ap["__pos"].to_numpy(dtype=np.int64)
    labels_out = ap[ml_col].tolist() if ml_col else [None] * len(ap)

    # ---- independent check of the AP table ------------------------------------
    t_chk = time.perf_counter()
    ref = reference_ap(meta_in.drop(columns=["__pos"]), feats, r, case["distance"], ml_col)
    flags_exact, flags_near = [], []
    got_keys = set()
    for k in range(len(ap)):
        key = (int(pos_idx[k]), labels_out[k])
        got_keys.add(key)
        exp = ref[key]
        a = float(ap["average_precision"].iloc[k])
        if not (exp["n_pos"] == int(ap["n_pos_pairs"].iloc[k]) and exp["n_total"] == int(ap["n_total_pairs"].iloc[k])):
            raise SystemExit(f"{case['id']}: pair counts differ at {key}: {exp} vs copairs")
        if not ((math.isnan(a) and math.isnan(exp["ap"])) or abs(a - exp["ap"]) <= 1e-12):
            raise SystemExit(f"{case['id']}: AP differs at {key}: {exp['ap']!r} vs copairs {a!r}")
        flags_exact.append(exp["exact_tie"])
        flags_near.append(exp["near_tie"])
    if got_keys != set(ref) or len(got_keys) != len(ap):
        raise SystemExit(f"{case['id']}: AP rows differ from the rule-based derivation")
    t_chk = time.perf_counter() - t_chk

    # ---- AP CSV ---------------------------------------------------------------
    out_cols = [c for c in cols]
    ap_header = ["row_index"] + out_cols + ["average_precision", "normalized_average_precision",
                                            "n_pos_pairs", "n_total_pairs", "has_exact_tie", "has_near_tie"]
    ap_rows = []
    for k in range(len(ap)):
        row = [int(rows_used[pos_idx[k]])]
        for c in out_cols:
            v = ap[c].iloc[k]
            row.append(v)
        row += [float(ap["average_precision"].iloc[k]), float(ap["normalized_average_precision"].iloc[k]),
                int(ap["n_pos_pairs"].iloc[k]), int(ap["n_total_pairs"].iloc[k]), flags_exact[k], flags_near[k]]
        ap_rows.append(row)
    ap_file = f"{case['id']}.ap.csv"
    write_csv(OUT / ap_file, ap_header, ap_rows)
    ap_vals = ap["average_precision"].to_numpy(dtype=float)
    entry["ap"] = {
        "file": ap_file,
        "rows": len(ap_rows),
        "rows_with_nan_ap": int(np.isnan(ap_vals).sum()),
        "rows_with_exact_tie": int(sum(flags_exact)),
        "rows_with_near_tie": int(sum(flags_near)),
        "columns": ap_header,
        "row_order": ("one row per (input row, label) pair that has >= 1 positive partner for that label; "
                      "input row order, labels in byte order within a row" if ml_col
                      else "one row per scored input row, input order (rows without pairs included)"),
    }

    # ---- copairs mAP ----------------------------------------------------------
    mp = case["map"]
    ap_for_map = ap
    if mp.get("input_filter"):
        f = mp["input_filter"]
        assert f["op"] == "!="
        ap_for_map = ap[ap[f["column"]] != f["value"]]
    t_map = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="copairs-null-cache-") as cache:
        mres = cp_map.mean_average_precision(ap_for_map, mp["sameby"], null_size=mp["null_size"],
                                             threshold=mp["threshold"], seed=mp["seed"],
                                             progress_bar=False, cache_dir=cache)
    t_map = time.perf_counter() - t_map

    # ---- independent check of mAP, null seeding, p-values, BH -----------------
    t2 = time.perf_counter()
    valid = ap_for_map[ap_for_map["average_precision"].notna() & (ap_for_map["n_pos_pairs"] > 0)]
    valid = valid.reset_index(drop=True)
    confs_all = valid[["n_pos_pairs", "n_total_pairs"]].to_numpy()
    uconfs, rev = np.unique(confs_all, axis=0, return_inverse=True)
    rev = rev.reshape(-1)
    seeds = np.random.default_rng(mp["seed"]).integers(8096, size=len(uconfs))
    nulls = np.stack([cp_compute.random_ap(mp["null_size"], int(k), int(n), s)
                      for (k, n), s in zip(uconfs, seeds)]) if len(uconfs) else None
    grouped = valid.groupby(mp["sameby"], observed=True, sort=True)
    exp_rows = []
    for gkey, g in grouped:
        idx = g.index.to_numpy()
        mean_ap = float(np.mean(g["average_precision"].to_numpy(dtype=float)))
        null_mean = nulls[rev[idx]].mean(axis=0)
        p = (int((null_mean > mean_ap).sum()) + 1) / (mp["null_size"] + 1)
        confs = {}
        for k, n in zip(g["n_pos_pairs"], g["n_total_pairs"]):
            confs[(int(k), int(n))] = confs.get((int(k), int(n)), 0) + 1
        exp_rows.append((gkey if isinstance(gkey, tuple) else (gkey,), mean_ap, p, confs, len(idx)))
    if len(exp_rows) != len(mres):
        raise SystemExit(f"{case['id']}: number of mAP groups differs")
    pv = mres["p_value"].to_numpy(dtype=float)
    q_exp = bh(pv)
    map_header = list(mp["sameby"]) + ["n_members", "mean_average_precision", "mean_normalized_average_precision",
                                       "p_value", "corrected_p_value", "below_p", "below_corrected_p",
                                       "null_configs", "null_enumerable", "exact_p_gt", "exact_p_ge"]
    map_rows = []
    n_exact = 0
    for k in range(len(mres)):
        gkey, mean_ap, p, confs, nmem = exp_rows[k]
        got_key = tuple(mres[c].iloc[k] for c in mp["sameby"])
        if tuple(str(x) for x in got_key) != tuple(str(x) for x in gkey):
            raise SystemExit(f"{case['id']}: mAP group order differs: {got_key} vs {gkey}")
        m_got = float(mres["mean_average_precision"].iloc[k])
        if abs(m_got - mean_ap) > 1e-12:
            raise SystemExit(f"{case['id']}: mAP differs for {gkey}: {mean_ap!r} vs {m_got!r}")
        if pv[k] != p:
            raise SystemExit(f"{case['id']}: p-value re-derivation differs for {gkey}: {p!r} vs {pv[k]!r}")
        qg = float(mres["corrected_p_value"].iloc[k])
        if abs(qg - q_exp[k]) > 1e-15 * max(1.0, q_exp[k]):
            raise SystemExit(f"{case['id']}: BH differs for {gkey}")
        if bool(mres["below_p"].iloc[k]) != (pv[k] < mp["threshold"]) or \
                bool(mres["below_corrected_p"].iloc[k]) != (qg < mp["threshold"]):
            raise SystemExit(f"{case['id']}: below_* flags differ for {gkey}")
        enumerable = all(math.comb(n, kk) <= mp["null_size"] for (kk, n) in confs)
        gt, ge = exact_null_tail(confs, m_got)
        if not math.isnan(gt):
            n_exact += 1
        conf_str = ";".join(f"{kk}:{n}*{c}" for (kk, n), c in sorted(confs.items()))
        map_rows.append(list(got_key) + [nmem, m_got, float(mres["mean_normalized_average_precision"].iloc[k]),
                                         float(pv[k]), qg, bool(mres["below_p"].iloc[k]),
                                         bool(mres["below_corrected_p"].iloc[k]), conf_str, enumerable, gt, ge])
    t_chk += time.perf_counter() - t2
    map_file = f"{case['id']}.map.csv"
    write_csv(OUT / map_file, map_header, map_rows)
    entry["map"] = {
        "sameby": mp["sameby"], "null_size": mp["null_size"], "threshold": mp["threshold"], "seed": mp["seed"],
        "input_filter": mp.get("input_filter"),
        "null_cache": "fresh empty cache_dir for this call",
        "file": map_file, "rows": len(map_rows), "columns": map_header,
        "row_order": "groups sorted by the sameby key (pandas groupby sort=True)",
        "n_distinct_null_configs": int(len(uconfs)),
        "null_config_seeds": {f"{int(k)}:{int(n)}": int(s) for (k, n), s in zip(uconfs, seeds)},
        "groups_with_exact_p": n_exact,
        "fraction_below_corrected_p": float(np.mean([row[len(mp['sameby']) + 6] for row in map_rows])),
    }
    return entry, {"ap": t_ap, "map": t_map, "check": t_chk}


# --------------------------------------------------------------------------


def main():
    t_start = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    synth = make_synthetic()
    cases = build_cases()
    loaded = {}
    inputs = {}
    for c in cases:
        p = c["input"]
        if p not in loaded:
            t = time.perf_counter()
            loaded[p] = load_profiles(ROOT / p)
            inputs[p] = {"sha256": sha256(ROOT / p), "rows": int(len(loaded[p][0])),
                         "n_features": int(loaded[p][1].shape[1]),
                         "synthetic": p.startswith(OUT_REL)}
            print(f"load {p}: {time.perf_counter() - t:.3f}s", flush=True)
    entries = []
    t_copairs = 0.0
    for c in cases:
        t = time.perf_counter()
        entry, tm = run_case(c, loaded)
        entries.append(entry)
        t_copairs += tm["ap"] + tm["map"]
        print(f"case {c['id']:40s} ap {tm['ap']:8.3f}s  map {tm['map']:8.3f}s  "
              f"check {tm['check']:8.3f}s  total {time.perf_counter() - t:8.3f}s", flush=True)
    pkgs = {}
    for name in ["copairs", "numpy", "pandas", "scipy", "duckdb", "statsmodels"]:
        pkgs[name] = importlib_metadata.version(name)
    manifest = {
        "generator": {
            "script": "tests/golden/make_copairs_fixtures.py",
            "requirements": "tests/golden/requirements-copairs.txt",
            "packages": pkgs,
            "python": ".".join(platform.python_version_tuple()[:2]),
            "semantics": f"{OUT_REL}/SEMANTICS.md",
        },
        "conventions": {
            "paths": "relative to the repository root",
            "csv": "comma-separated, RFC 4180 quoting only where needed, '\\n' line ends, header row",
            "floats_in_outputs": "'%.17g' (round-trips to the same f64); NaN written as NaN",
            "floats_in_synthetic_inputs": "Python repr (shortest round-trip)",
            "booleans": "true/false",
            "missing_metadata": "empty field",
            "features": FEATURE_RULE,
            "feature_parsing": "correctly rounded decimal -> f64 (Python float())",
            "row_index": "0-based data-row index in the input file (header excluded), before any prefilter",
            "reference": "copairs.matching.assign_reference_index: reference_col = the row's 0-based position "
                         "among the scored rows (after prefilter) where condition holds, default_value elsewhere",
            "prefilter": "applied to the input rows before anything else; drop_rows_where_missing: empty "
                         "field; drop_rows_where_equal: exact string match",
            "map_input_filter": "rows of the AP table removed before mean_average_precision",
            "has_exact_tie": "the rank list has a positive and a negative with bit-identical f32 rank keys "
                             "(or both NaN)",
            "has_near_tie": f"the rank list has a positive and a negative whose f64 similarities differ by "
                            f"more than 0 and less than {NEAR_TIE_EPS:g}: another implementation's rounding "
                            f"may legitimately order them differently",
            "null_configs": "'n_pos:n_total*members' for each distinct configuration in the group",
            "null_enumerable": "every configuration has C(n_total, n_pos) <= null_size",
            "exact_p_gt": "exact P(null mean > mAP) under copairs' null model (configs shared within a group), "
                          f"computed when the joint support <= {EXACT_SUPPORT_LIMIT}; NaN otherwise; equality "
                          "tolerance 1e-9",
            "exact_p_ge": "same with >=",
        },
        "inputs": inputs,
        "cases": entries,
    }
    (OUT / "cases.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    total = sum((OUT / f).stat().st_size for f in sorted(p.name for p in OUT.iterdir()))
    print(f"wrote {len(entries)} cases, {total} bytes in {OUT_REL}", flush=True)
    print(f"copairs calls (average_precision + mean_average_precision) {t_copairs:.3f}s", flush=True)
    print(f"total {time.perf_counter() - t_start:.3f}s", flush=True)


if __name__ == "__main__":
    main()
