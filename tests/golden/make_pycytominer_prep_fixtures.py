"""Golden fixtures for cpbench-prep's pycytominer operations (`cpbench prep ...`).

Runs pycytominer 1.7.1 `feature_select`, `normalize`, `aggregate` and `consensus` on the shipped
LINCS plate, the BBBC021 raw per-well means and a small synthetic table (n < d, constant and NaN
columns), and writes what cpbench must reproduce under `tests/fixtures/pycytominer/`:

- `cases.json`: per case, the input, the parameters and the excluded feature names per
  operation (feature selection), or the output file and the rows it holds.
- `*.out.csv.gz`: outputs (a subset of rows where the full table would be large), values as
  float32 text (cpbench stores profiles as f32; the comparison is at 1e-5 relative).
- `synthetic.csv`: the synthetic input.
- `f64_cases.json`, `f64_*.out.csv.gz`, `f64_synthetic.parquet`: the float64 cases (below).

Inputs are rounded to float32 before pycytominer sees them, so both sides start from the same
numbers. The end-to-end test `tests/e2e/prep.rs` runs the cpbench commands and compares.

The float64 cases are not rounded: pycytominer computes in float64 on the inputs as stored, and
`cpbench prep --precision f64` (or `auto`, on a Parquet table of Float64 columns) must match it
to 1e-9 relative; outputs keep every float64 digit (Python's shortest round-trip repr). Inputs:
`f64_synthetic.parquet` (float64 written by pyarrow) and the LINCS plate as pandas reads it. The
end-to-end test is `tests/e2e/precision.rs`.

Pins: tests/golden/requirements-pycytominer.txt. Run from the repository root:
    python3 -m venv /tmp/gp && /tmp/gp/bin/pip install -r tests/golden/requirements-pycytominer.txt
    /tmp/gp/bin/python tests/golden/make_pycytominer_prep_fixtures.py
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pycytominer import aggregate, consensus, feature_select, normalize
from pycytominer.cyto_utils import get_blocklist_features

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data"
OUT = ROOT / "tests" / "fixtures" / "pycytominer"

LINCS = "benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz"
BBBC = "benchmarks/data/bbbc021/ljosa_jbiomolscreen_2013_per_well_mean.csv.gz"
SYNTH = "tests/fixtures/pycytominer/synthetic.csv"


def load(rel, meta_prefix):
    df = pd.read_csv(ROOT / rel)
    meta = [c for c in df.columns if c.startswith(meta_prefix)]
    feats = [c for c in df.columns if c not in meta]
    # Both sides start from the f32 values cpbench stores.
    df[feats] = df[feats].astype(np.float32).astype(np.float64)
    return df, meta, feats


def write_table(df, name):
    """Writes float columns as float32 text (shortest repr that round-trips to f32)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = [
                "" if np.isnan(v) else repr(float(np.float32(v))) for v in out[c].to_numpy()
            ]
    out.to_csv(OUT / name, index=False, compression={"method": "gzip", "mtime": 0})
    return name


def correlation_ties(df, feats, threshold):
    """Pairs above the threshold whose column sums of |r| are exactly equal (duplicated
    features). pycytominer orders them with numpy's unstable (SIMD, machine-dependent) argsort,
    so which member goes is not defined; the test accepts either."""
    x = df[feats].to_numpy()
    if np.isnan(x).any():
        return []
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(x.T)
    sums = pd.DataFrame(r, index=feats, columns=feats).abs().sum().to_numpy()
    ties = []
    for a in range(len(feats)):
        for b in range(a):
            if r[a, b] > threshold and sums[a] == sums[b]:
                ties.append(sorted([feats[a], feats[b]]))
    return ties


def excluded_by_op(df, feats, ops, **kw):
    """Feature names each op excludes, in order, as pycytominer's feature_select chains them,
    and the tied pairs of correlation_threshold."""
    result = []
    ties = []
    remaining = list(feats)
    for op in ops:
        kept = feature_select(df, features=remaining, operation=[op], **kw)
        kept_feats = [c for c in remaining if c in kept.columns]
        result.append([op, sorted(set(remaining) - set(kept_feats))])
        if op == "correlation_threshold":
            ties = correlation_ties(df, remaining, kw.get("corr_threshold", 0.9))
        remaining = kept_feats
    # The chained call must agree with the op-by-op replay.
    whole = feature_select(df, features=list(feats), operation=list(ops), **kw)
    assert [c for c in feats if c in whole.columns] == remaining, ops
    return result, remaining, ties


def feature_select_cases(cases):
    lincs, _, lf = load(LINCS, "Metadata_")
    bbbc, _, bf = load(BBBC, "Image_Metadata_")
    synth, _, sf = load(SYNTH, "Metadata_")
    specs = [
        ("lincs_default_ops", LINCS, "Metadata_", lincs, lf,
         ["variance_threshold", "correlation_threshold", "drop_na_columns", "blocklist",
          "drop_outliers"], {}),
        ("lincs_frequency", LINCS, "Metadata_", lincs, lf, ["frequency_threshold"],
         {"freq_cut": 0.1, "unique_cut": 0.1}),
        ("lincs_corr_0.8", LINCS, "Metadata_", lincs, lf, ["correlation_threshold"],
         {"corr_threshold": 0.8}),
        ("bbbc021_raw", BBBC, "Image_Metadata_", bbbc, bf,
         ["drop_na_columns", "variance_threshold", "frequency_threshold",
          "correlation_threshold", "drop_outliers", "blocklist"], {}),
        ("bbbc021_corr_0.95", BBBC, "Image_Metadata_", bbbc, bf,
         ["drop_na_columns", "correlation_threshold"], {"corr_threshold": 0.95}),
        ("synthetic", SYNTH, "Metadata_", synth, sf,
         ["drop_na_columns", "variance_threshold", "frequency_threshold",
          "correlation_threshold", "drop_outliers", "blocklist"],
         {"na_cutoff": 0.2, "freq_cut": 0.2}),
    ]
    for name, rel, prefix, df, feats, ops, kw in specs:
        # Blocklist: pycytominer's default list, which cpbench ships.
        excluded, kept, ties = excluded_by_op(df, feats, ops, **kw)
        cases.append(
            {
                "name": name,
                "kind": "feature-select",
                "input": rel,
                "metadata_prefix": prefix,
                "ops": ops,
                "params": kw,
                "excluded": excluded,
                "correlation_ties": ties,
                "n_kept": len(kept),
            }
        )


def subset_rows(df, every):
    return df.iloc[::every] if len(df) > 60 else df


def subset_features(feats, every=10):
    """Every `every`-th feature, to keep fixtures small; the test compares the columns stored."""
    return feats[::every] if len(feats) > 60 else feats


def normalize_cases(cases):
    lincs, lm, lf = load(LINCS, "Metadata_")
    bbbc, bm, bf = load(BBBC, "Image_Metadata_")
    synth, sm, sf = load(SYNTH, "Metadata_")
    # BBBC021 raw means have NaN-free features except where noted; normalize what pandas keeps.
    specs = [
        ("lincs_mad_dmso", LINCS, "Metadata_", lincs, lm, lf, "mad_robustize",
         "Metadata_broad_sample=DMSO", "Metadata_broad_sample == 'DMSO'", "Metadata_Plate", 24),
        ("lincs_standardize_all", LINCS, "Metadata_", lincs, lm, lf, "standardize", "all",
         "all", None, 24),
        ("bbbc021_mad_per_plate", BBBC, "Image_Metadata_", bbbc, bm, bf, "mad_robustize", "all",
         "all", "Image_Metadata_Plate", 24),
        ("bbbc021_robustize_per_plate", BBBC, "Image_Metadata_", bbbc, bm, bf, "robustize",
         "all", "all", "Image_Metadata_Plate", 24),
        ("synthetic_standardize_ctrl", SYNTH, "Metadata_", synth, sm, sf, "standardize",
         "Metadata_type=ctrl", "Metadata_type == 'ctrl'", "Metadata_batch", 1),
    ]
    for name, rel, prefix, df, meta, feats, method, fit_on, query, by, every in specs:
        parts = []
        groups = [df] if by is None else [g for _, g in df.groupby(by, sort=False)]
        for g in groups:
            parts.append(
                normalize(g, features=feats, meta_features=meta, samples=query, method=method)
            )
        out = pd.concat(parts).loc[df.index]
        sub = subset_rows(out, every)
        cases.append(
            {
                "name": name,
                "kind": "normalize",
                "input": rel,
                "metadata_prefix": prefix,
                "method": method,
                "fit_on": fit_on,
                "by": by,
                "rows": [int(i) for i in sub.index],
                "output": write_table(
                    sub[meta + subset_features(feats, 4)], f"{name}.out.csv.gz"
                ),
            }
        )


def aggregate_cases(cases):
    lincs, _, lf = load(LINCS, "Metadata_")
    bbbc, _, bf = load(BBBC, "Image_Metadata_")
    synth, _, sf = load(SYNTH, "Metadata_")
    specs = [
        ("lincs_median_by_compound", "aggregate", LINCS, "Metadata_", lincs, lf,
         ["Metadata_broad_sample"], "median"),
        ("lincs_mean_by_compound", "aggregate", LINCS, "Metadata_", lincs, lf,
         ["Metadata_broad_sample"], "mean"),
        ("lincs_modz_by_compound", "consensus", LINCS, "Metadata_", lincs, lf,
         ["Metadata_broad_sample"], "modz"),
        ("bbbc021_mean_by_plate", "aggregate", BBBC, "Image_Metadata_", bbbc, bf,
         ["Image_Metadata_Plate"], "mean"),
        ("bbbc021_modz_by_plate", "consensus", BBBC, "Image_Metadata_", bbbc, bf,
         ["Image_Metadata_Plate"], "modz"),
        ("synthetic_median", "aggregate", SYNTH, "Metadata_", synth, sf,
         ["Metadata_batch", "Metadata_type"], "median"),
        ("synthetic_modz", "consensus", SYNTH, "Metadata_", synth, sf, ["Metadata_type"],
         "modz"),
    ]
    for name, kind, rel, prefix, df, feats, by, method in specs:
        if kind == "aggregate":
            out = aggregate(df, strata=by, features=feats, operation=method)
        else:
            out = consensus(df, replicate_columns=by, operation=method, features=feats)
        cases.append(
            {
                "name": name,
                "kind": kind,
                "input": rel,
                "metadata_prefix": prefix,
                "by": by,
                "method": method,
                "output": write_table(out[by + subset_features(feats)], f"{name}.out.csv.gz"),
            }
        )


def make_synthetic():
    """10 rows × 30 features: n < d, a constant, an all-but-one NaN, a sparse-NaN column,
    near-duplicates, a low-frequency column and an outlier column."""
    rng = np.random.default_rng(20260521)
    n, d = 10, 30
    x = rng.normal(size=(n, d)).astype(np.float32)
    x[:, 1] = 3.5  # constant
    x[1:, 2] = np.nan  # mostly NaN
    x[[3, 7], 4] = np.nan  # a few NaN
    x[:, 5] = x[:, 0] * 2 + rng.normal(scale=0.01, size=n).astype(np.float32)  # near duplicate
    x[:, 6] = np.where(np.arange(n) == 0, 1.0, 0.0)  # one value dominates
    x[:, 7] = x[:, 3] * 1000 + rng.normal(scale=1.0, size=n)  # outliers (no exact tie with 3)
    x[:, 8] = x[:, 9] * -1  # anti-correlated: kept by the signed rule
    x[:, 10] = 1e-4 * rng.normal(size=n)  # variance below 1e-6
    cols = {
        "Metadata_well": [f"w{i:02d}" for i in range(n)],
        "Metadata_batch": ["b1"] * 5 + ["b2"] * 5,
        "Metadata_type": ["ctrl", "trt", "ctrl", "trt", "trt"] * 2,
    }
    for j in range(d):
        cols[f"Cells_Feature_{j:02d}"] = x[:, j].astype(np.float32)
    # A feature on pycytominer's default blocklist.
    cols["Nuclei_Correlation_Manders_AGP_DNA"] = rng.normal(size=n).astype(np.float32)
    df = pd.DataFrame(cols)
    OUT.mkdir(parents=True, exist_ok=True)
    df.to_csv(ROOT / SYNTH, index=False, float_format="%.9g")


F64_SYNTH = "tests/fixtures/pycytominer/f64_synthetic.parquet"


def write_table_f64(df, name):
    """Writes float columns with every float64 digit (shortest repr that round-trips)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = ["" if np.isnan(v) else repr(float(v)) for v in out[c].to_numpy()]
    out.to_csv(OUT / name, index=False, compression={"method": "gzip", "mtime": 0})
    return name


def make_float64_synthetic():
    """96 wells x 12 float64 features on 2 plates (20 controls each): correlated features on
    scales 0.5 to 50 with offsets up to 2000 (float32 keeps only ~4 of their digits below the
    spread), a near-duplicate (r ~ 0.99, for correlation_threshold) and a low-variance feature
    (for variance_threshold). Written by pyarrow as Float64 columns."""
    rng = np.random.default_rng(20261207)
    n, k = 96, 10
    plate = np.repeat(["P1", "P2"], n // 2)
    control = np.zeros(n, dtype=bool)
    for p in (0, 1):
        control[p * 48 + rng.choice(48, size=20, replace=False)] = True
    mix = rng.normal(size=(k, k)) * 0.4 + np.eye(k)
    scale = np.geomspace(0.5, 50.0, k)
    offset = rng.choice([0.0, 3.0, 150.0, 2000.0], size=k) * rng.choice([-1.0, 1.0], size=k)
    x = (rng.normal(size=(n, k)) @ mix) * scale + offset
    # A plate effect for the per-plate normalizations to remove.
    x[plate == "P2"] += rng.normal(size=k) * scale * 0.5
    near_dup = 2.0 * x[:, 3] + 0.15 * scale[3] * rng.normal(size=n) + 7.0
    low_var = 0.25 + 8e-4 * rng.normal(size=n)
    x = np.column_stack([x, near_dup, low_var])
    cols = {
        "Metadata_Plate": plate,
        "Metadata_Well": [f"w{i:02d}" for i in range(n)],
        "Metadata_pert_type": np.where(control, "control", "trt"),
    }
    for j in range(x.shape[1]):
        cols[f"Cells_Feature_{j:02d}"] = x[:, j]
    df = pd.DataFrame(cols)
    df.to_parquet(ROOT / F64_SYNTH, index=False, engine="pyarrow")
    back = pd.read_parquet(ROOT / F64_SYNTH)
    assert all(back[c].dtype == np.float64 for c in cols if not c.startswith("Metadata_"))
    assert back.equals(df)


def float64_cases():
    """pycytominer on float64 inputs as stored: sphering (PCA, ZCA and their -cor variants),
    normalization (standardize, mad_robustize per plate against the controls) and feature
    selection on `f64_synthetic.parquet`; ZCA sphering and MAD-robustizing of the LINCS plate."""
    make_float64_synthetic()
    synth = pd.read_parquet(ROOT / F64_SYNTH)
    s_meta = [c for c in synth.columns if c.startswith("Metadata_")]
    s_feats = [c for c in synth.columns if c not in s_meta]
    lincs = pd.read_csv(ROOT / LINCS)
    l_meta = [c for c in lincs.columns if c.startswith("Metadata_")]
    l_feats = [c for c in lincs.columns if c not in l_meta]
    assert all(lincs[c].dtype == np.float64 for c in l_feats)
    cases = []

    def add(name, kind, rel, args, out, rows, cols, meta):
        cases.append(
            {
                "name": name,
                "kind": kind,
                "input": rel,
                "args": args,
                "rows": [int(i) for i in rows],
                "output": write_table_f64(out.loc[rows, meta + cols], f"f64_{name}.out.csv.gz"),
            }
        )

    ctrl = "Metadata_pert_type == 'control'"
    all_rows = list(synth.index)
    for method in ["ZCA", "PCA", "ZCA-cor", "PCA-cor"]:
        out = normalize(
            synth, features=s_feats, meta_features=s_meta, samples=ctrl, method="spherize",
            spherize_method=method, spherize_center=True, spherize_epsilon=1e-6,
        )
        # pycytominer names unrotated (PCA) outputs PC1..PCd, as cpbench does.
        cols = [c for c in out.columns if c not in s_meta]
        add(f"synthetic_{method.lower()}", "sphere", F64_SYNTH,
            ["--method", method.lower(), "--fit-on", "Metadata_pert_type=control"],
            out, all_rows, cols, s_meta)
    for method in ["standardize", "mad_robustize"]:
        out = pd.concat(
            normalize(g, features=s_feats, meta_features=s_meta, samples=ctrl, method=method)
            for _, g in synth.groupby("Metadata_Plate", sort=False)
        ).loc[synth.index]
        add(f"synthetic_{method}", "normalize", F64_SYNTH,
            ["--method", method, "--by", "Metadata_Plate",
             "--fit-on", "Metadata_pert_type=control"],
            out, all_rows, s_feats, s_meta)
    ops = ["variance_threshold", "correlation_threshold", "drop_outliers"]
    out = feature_select(synth, features=s_feats, operation=ops)
    kept = [c for c in s_feats if c in out.columns]
    assert 0 < len(kept) < len(s_feats) - 2, kept
    add("synthetic_feature_select", "feature-select", F64_SYNTH, ["--ops", ",".join(ops)],
        out, all_rows, kept, s_meta)

    dmso = "Metadata_broad_sample == 'DMSO'"
    rows = list(lincs.index[lincs["Metadata_broad_sample"] == "DMSO"][:4]) + [0, 1, 100, 200, 383]
    out = normalize(
        lincs, features=l_feats, meta_features=l_meta, samples=dmso, method="spherize",
        spherize_method="ZCA", spherize_center=True, spherize_epsilon=1e-6,
    )
    add("lincs_zca", "sphere", LINCS,
        ["--precision", "f64", "--method", "zca", "--fit-on", "Metadata_broad_sample=DMSO"],
        out, rows, subset_features(l_feats, 10), l_meta)
    out = normalize(lincs, features=l_feats, meta_features=l_meta, samples=dmso,
                    method="mad_robustize")
    add("lincs_mad_robustize", "normalize", LINCS,
        ["--precision", "f64", "--method", "mad_robustize",
         "--fit-on", "Metadata_broad_sample=DMSO"],
        out, rows, subset_features(l_feats, 10), l_meta)
    (OUT / "f64_cases.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")


def main():
    # Sphering fixtures (sphere_*) in the same folder come from make_pycytominer_sphere_fixtures.py.
    make_synthetic()
    cases = []
    feature_select_cases(cases)
    normalize_cases(cases)
    aggregate_cases(cases)
    float64_cases()
    blocklist = get_blocklist_features()
    shipped = (DATA / "pycytominer" / "blocklist_features.txt").read_text().split()[1:]
    assert blocklist == shipped, "shipped blocklist differs from pycytominer's default"
    (OUT / "cases.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
