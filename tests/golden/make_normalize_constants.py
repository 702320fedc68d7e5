"""Expected values for cpbench-prep's normalization golden test.

Fits scikit-learn's StandardScaler and RobustScaler and pycytominer's RobustMAD (what
pycytominer.normalize uses for standardize, robustize and mad_robustize) on the control rows of
pycytominer's own `normalize` docstring example, applies them to every row, and prints the
results as Rust constants (rounded to f32, as cpbench stores profiles) for
`harness/prep/src/normalize.rs`, test `matches_sklearn_and_pycytominer_on_a_small_table`.

Pins: tests/golden/requirements-normalize.txt. Run:
    python3 -m venv /tmp/gn && /tmp/gn/bin/pip install -r tests/golden/requirements-normalize.txt
    /tmp/gn/bin/python tests/golden/make_normalize_constants.py
"""

import numpy as np
import pandas as pd
from pycytominer.operations.transform import RobustMAD
from sklearn.preprocessing import RobustScaler, StandardScaler

df = pd.DataFrame(
    {
        "x": [1, 2, 8, 2, 5, 5, 5, 1],
        "y": [3, 1, 7, 4, 5, 9, 6, 1],
        "z": [1, 8, 2, 5, 6, 22, 2, 2],
        "zz": [14, 46, 1, 6, 30, 100, 2, 2],
    }
).astype(float)
controls = df.iloc[[2, 3, 6, 7]]


def literal(v):
    s = str(np.float32(v))
    if "e" not in s and "." not in s:
        s += ".0"
    return s


for name, scaler in [
    ("STANDARDIZE", StandardScaler()),
    ("ROBUSTIZE", RobustScaler()),
    ("MAD_ROBUSTIZE", RobustMAD()),
]:
    out = np.asarray(scaler.fit(controls).transform(df), dtype=np.float64)
    print(f"    #[rustfmt::skip]\n    const {name}: [f32; 32] = [")
    for row in out:
        print("        " + ", ".join(literal(v) for v in row) + ",")
    print("    ];")
