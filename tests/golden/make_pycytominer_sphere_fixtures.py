"""Golden sphering fixtures from pycytominer 1.7.1 `Spherize` for `cpbench prep sphere`.

Run in a throwaway venv with tests/golden/requirements-pycytominer.txt installed:

    python tests/golden/make_pycytominer_sphere_fixtures.py

Writes tests/fixtures/pycytominer/sphere_* (the other fixtures in that folder come from
make_pycytominer_prep_fixtures.py). Deterministic: rerunning gives no diff. Profiles are stored
as float32 by cpbench, so every input is rounded to float32 first and then computed on in
float64, as cpbench does.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pycytominer.operations.transform import Spherize

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "pycytominer"
LINCS = ROOT / "benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz"


def f32(a):
    """Rounds to float32 (what cpbench stores) and back to float64 (what it computes in)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def write_synthetic(path, x, is_control):
    """Writes a small profile table: two metadata columns, then float32 features."""
    df = pd.DataFrame(
        {
            "Metadata_Well": [f"w{i:03d}" for i in range(x.shape[0])],
            "Metadata_pert_type": np.where(is_control, "control", "trt"),
        }
    )
    feats = pd.DataFrame(
        x.astype(np.float32), columns=[f"f{j:02d}" for j in range(x.shape[1])]
    )
    pd.concat([df, feats], axis=1).to_csv(path, index=False, float_format=None)
    # Read back to be sure the stored text round-trips to the same float32 values.
    back = pd.read_csv(path)
    assert np.array_equal(back[feats.columns].to_numpy(np.float32), x.astype(np.float32))


def sphere_case(name, input_rel, fit_on, x, fit_mask, rows, method, epsilon=1e-6, center=True):
    """One Spherize run: fit on fit_mask rows of x, expected output on `rows`."""
    sph = Spherize(epsilon=epsilon, center=center, method=method, return_numpy=True)
    sph.fit(pd.DataFrame(x[fit_mask]))
    out = sph.transform(pd.DataFrame(x[rows]))
    xt = x[fit_mask]
    xt = xt - xt.mean(axis=0) if center else xt
    if method.endswith("-cor"):
        xt = xt / xt.std(axis=0)
    rank = int(np.linalg.matrix_rank(xt))
    return {
        "name": name,
        "input": input_rel,
        "fit_on": fit_on,
        "method": method.lower(),
        "epsilon": epsilon,
        "center": center,
        "fit_rows": int(fit_mask.sum()),
        "features": int(x.shape[1]),
        "rank": rank,
        "rows": [int(r) for r in rows],
        # 9 significant digits: the tolerance is 1e-5 relative to max(1, |v|).
        "expected": [[float(f"{v:.9g}") for v in row] for row in out],
    }


def sphere_fixtures():
    """Spherize on the LINCS plate (n = 24 DMSO < d = 454), a synthetic n < d and a full-rank case."""
    cases = []

    lincs = pd.read_csv(LINCS)
    feats = [c for c in lincs.columns if not c.startswith("Metadata_")]
    x = f32(lincs[feats].to_numpy())
    dmso = (lincs["Metadata_broad_sample"] == "DMSO").to_numpy()
    # A few controls and a few treated wells keep the fixture small.
    rows = list(np.flatnonzero(dmso)[:3]) + [0, 1, 100, 200, 383]
    for method in ["PCA", "ZCA", "PCA-cor", "ZCA-cor"]:
        cases.append(
            sphere_case(
                f"lincs_{method.lower()}",
                "benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz",
                "Metadata_broad_sample=DMSO",
                x,
                dmso,
                rows,
                method,
            )
        )

    rng = np.random.default_rng(20261121)

    # n < d: 9 controls over 20 features, on 16 rows; features on different scales.
    n, d = 16, 20
    x = f32(rng.normal(size=(n, d)) * rng.uniform(0.5, 5.0, size=d) + rng.normal(size=d))
    ctrl = np.zeros(n, dtype=bool)
    ctrl[::2] = True
    ctrl[15] = True
    write_synthetic(OUT / "sphere_small_n.csv", x, ctrl)
    for method in ["PCA", "ZCA", "PCA-cor", "ZCA-cor"]:
        cases.append(
            sphere_case(
                f"small_n_{method.lower()}",
                "tests/fixtures/pycytominer/sphere_small_n.csv",
                "Metadata_pert_type=control",
                x,
                ctrl,
                list(range(n)),
                method,
            )
        )
    for method in ["PCA", "ZCA"]:
        cases.append(
            sphere_case(
                f"small_n_{method.lower()}_uncentered",
                "tests/fixtures/pycytominer/sphere_small_n.csv",
                "Metadata_pert_type=control",
                x,
                ctrl,
                list(range(n)),
                method,
                center=False,
            )
        )
    cases.append(
        sphere_case(
            "small_n_zca_eps1e-2",
            "tests/fixtures/pycytominer/sphere_small_n.csv",
            "Metadata_pert_type=control",
            x,
            ctrl,
            list(range(n)),
            "ZCA",
            epsilon=1e-2,
        )
    )

    # Well conditioned: 60 controls over 8 correlated features, on 80 rows.
    n, d = 80, 8
    mix = rng.normal(size=(d, d)) * 0.5 + np.eye(d) * 2.0
    x = f32(rng.normal(size=(n, d)) @ mix + rng.normal(size=d) * 3.0)
    ctrl = np.zeros(n, dtype=bool)
    ctrl[:60] = True
    rng.shuffle(ctrl)
    write_synthetic(OUT / "sphere_full_rank.csv", x, ctrl)
    for method in ["PCA", "ZCA", "PCA-cor", "ZCA-cor"]:
        cases.append(
            sphere_case(
                f"full_rank_{method.lower()}",
                "tests/fixtures/pycytominer/sphere_full_rank.csv",
                "Metadata_pert_type=control",
                x,
                ctrl,
                list(range(n)),
                method,
            )
        )

    with open(OUT / "sphere_cases.json", "w") as f:
        json.dump({"generator": "pycytominer 1.7.1 Spherize", "cases": cases}, f)
        f.write("\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    sphere_fixtures()


if __name__ == "__main__":
    main()
