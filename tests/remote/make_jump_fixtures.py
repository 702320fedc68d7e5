#!/usr/bin/env python3
"""Seeded, byte-deterministic generator of small JUMP Cell Painting (cpg0016) fixtures (issue 18).

Writes, under OUT/, files at the same object keys as the consortium's processed profiles in the
public bucket `cellpainting-gallery` (the `orf`, `crispr`, `compound` and `compound_interpretable`
entries of benchmarks/data/jump/profile_index.json) and a `well.csv.gz` at the path the datasets
repository serves it from, with the real files' layout (tests/remote/README.md says what that is
and where it was read), real plate and perturbation identifiers, and a planted signal. Then
OUT/fixtures.json lists every object with its size, sha256 and S3 ETag, and OUT/fixtures_truth.json
the planted ground truth.

    .venv-remote/bin/python tests/remote/make_jump_fixtures.py --out DIR
    .venv-remote/bin/python tests/remote/make_jump_fixtures.py --out DIR --upload-s3 http://127.0.0.1:PORT

With --upload-s3 it also creates the bucket on that S3 endpoint (moto, tests/remote/moto.sh),
makes it anonymously readable, uploads every object (the multipart one through the multipart API
at the recorded part size), checks that head_object's ETag and size equal what was computed here
and that an unsigned ranged GET returns the right bytes, and writes OUT/upload.json. It fails
loudly (exit 1) on any mismatch.

Same seed, same pinned packages (ci/setup-remote.sh) -> the same bytes: the Parquet files are
written with fixed writer settings and pyarrow's bundled codecs (gzip included), never the clock.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "cellpainting-gallery"
BUCKET_URL = "https://cellpainting-gallery.s3.amazonaws.com/"
DATASETS_COMMIT = "016e865fa0691244e0860943e41c7d6a88ed2580"
# raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>, without the host.
WELL_KEY = f"jump-cellpainting/datasets/{DATASETS_COMMIT}/metadata/well.csv.gz"
MIB = 1024 * 1024
PART_SIZE = 5 * MIB  # S3's minimum part size (every part but the last)
MULTIPART_SUBSET = "compound_interpretable"  # its real ETag is multipart too ("...-3")
DEFAULT_SEED = 18
META = ["Metadata_Source", "Metadata_Plate", "Metadata_Well", "Metadata_JCP2022"]
WELLS_384 = [f"{r}{c:02d}" for r in "ABCDEFGHIJKLMNOP" for c in range(1, 25)]

# Plates (real ones from plate.csv.gz): (source, batch) -> how many plates, first ones in name order.
ORF_BATCHES = [  # ORF plates are all in source_4; harmony's batch key for ORF is Metadata_Batch
    ("source_4", "2021_04_26_Batch1", 2),
    ("source_4", "2021_05_31_Batch2", 2),
    ("source_4", "2021_05_10_Batch3", 2),
    ("source_4", "2021_05_17_Batch4", 2),
]
# The recipe drops these source_4 plates (low concentration, a re-imaged plate) and Batch12.
ORF_REDLIST = {"BR00127145", "BR00127146", "BR00127147", "BR00127148", "BR00123528A"}
CRISPR_BATCHES = [  # CRISPR plates are all in source_13
    ("source_13", "20220914_Run1", 2),
    ("source_13", "20221009_Run2", 2),
    ("source_13", "20221017_Run3", 2),
]
COMPOUND_SOURCES = ["source_2", "source_3", "source_5", "source_6", "source_8", "source_10"]
COMPOUND_PLATES_PER_SOURCE = 2
# source_3 batches the recipe leaves out of the compound profiles (no DMSO).
SOURCE3_BATCH_REDLIST = {"CP_32_all_Phenix1", "CP_33_all_Phenix1", "CP_34_mix_Phenix1",
                         "CP_35_all_Phenix1", "CP_36_all_Phenix1", "CP59", "CP60"}

# 360 real compound JCP2022 ids (numbers of JCP2022_NNNNNN), drawn once with a fixed seed from the
# ids of jump-cellpainting/datasets@016e865 metadata/compound_source.csv.gz that the consortium's
# well.csv.gz places on COMPOUND plates (compound.csv.gz is not shipped here).
COMPOUND_IDS = [int(x) for x in """
27 178 264 649 1243 1428 2702 3234 3685 3874 3959 4833 5409 5700 5963 6005 6423 6431 6908 7221
8653 8877 9080 9277 9422 9719 9776 9830 9928 9934 10350 10681 11294 12049 12136 12257 12848
12895 13061 13077 13224 13572 13609 13762 14343 14432 14869 14968 15393 15763 16108 16184 16506
16531 16537 16788 17102 17140 17407 17596 17791 18339 18470 18825 19069 19409 19848 19904 20202
20407 21534 21590 21634 21701 22347 22419 23027 23277 23671 23939 24000 24247 24679 24846 24878
24962 25127 25129 25150 25794 26977 27086 27428 27781 29161 29749 29795 30640 31200 31310 31619
31769 31923 31969 32207 32257 33899 34101 34416 34505 34756 34833 35468 35858 36184 36236 36949
37244 37377 37457 37816 38120 38329 38620 39255 39449 39567 39626 39801 39848 39950 40408 40594
40917 41015 41092 41174 41359 41677 41891 42267 42883 43012 43064 43148 43693 44015 44026 44132
45149 45151 45447 45932 46840 47024 47844 47913 47970 48055 48281 48955 49304 50424 52595 53268
53430 53704 53875 54182 54306 54348 54983 54999 55311 55505 55550 55570 55714 55770 55929 56212
56407 56500 56627 56727 57972 58012 58754 59624 60434 61101 61177 61276 61548 61810 62222 62621
63723 64567 65912 65956 66007 66119 66192 66575 67043 67064 67403 67473 68359 69259 69458 70258
70309 70463 70643 70651 70705 71076 71415 71439 72209 73499 73648 75273 75946 76837 76936 77033
77065 77449 78134 78496 78811 78826 78962 79054 79376 79450 80076 80208 80230 80236 80241 80313
80493 80826 81672 82046 82162 82329 82455 83100 83451 83698 84171 84270 84371 84395 84488 85162
85473 85542 85730 85979 87819 88139 88374 88871 89121 89869 89924 90198 90468 90840 91242 91292
91318 91332 91603 91606 91684 92303 92361 92369 92981 93368 93369 93610 93842 93873 94763 94916
95245 95386 95989 96037 96293 96620 96922 97669 98003 98720 99124 99233 99299 99520 99751 100124
100273 100464 100477 100633 101706 101716 102211 102934 103673 104209 104257 104274 104992
105045 105099 105248 106095 106098 106603 106616 106825 107186 107490 107853 108014 108154
108159 108543 108599 108856 109160 109411 109451 110014 110101 110280 110603 110685 111477
111835 111885 112155 112517 113307 113445 113647 113963 114087 114215 115183 115444
""".split()]

# Sizes and signal. Noise is N(0, 1) per feature; a perturbation's effect has per-feature RMS
# `strength`, so a strength-s replicate pair has an expected cosine of about s^2 / (s^2 + 1).
ORF = dict(n_perts=400, n_complexes=14, n_features=96, negcon_wells_per_id=4, poscon_wells=2,
           inactive=0.35, batch_rms=0.5, plate_rms=0.25, poscon_strength=1.5)
CRISPR = dict(n_perts=240, n_complexes=10, n_features=80, negcon_wells_per_id=8, poscon_wells=1,
              inactive=0.35, batch_rms=0.5, plate_rms=0.25, poscon_strength=2.0)
COMPOUND = dict(n_features=64, negcon_wells=16, poscon_wells_per_id=1, inactive=0.4,
                n_groups=12, group_size=4, batch_rms=0.6, plate_rms=0.25)
# The interpretable compound file: CellProfiler-named features, a linear read-out of the same
# wells before batch correction (source offsets 2.5x larger), sized for a 3-part upload.
INTERPRETABLE = dict(n_features=1024, source_scale=2.5, noise=0.6)
REPLICATES = 5
COMPLEX_MIN, COMPLEX_MAX = 3, 6
COMPLEX_SHARE = 0.85  # weight of the complex direction in a member gene's direction


# ----------------------------------------------------------------------------------------------
# inputs


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def load_inputs(meta_dir: Path, ann_dir: Path) -> dict:
    plates = read_csv(meta_dir / "plate.csv.gz")
    orf = read_csv(meta_dir / "orf.csv.gz")
    crispr = read_csv(meta_dir / "crispr.csv.gz")
    control = read_csv(meta_dir / "perturbation_control.csv")
    index = json.loads((meta_dir / "profile_index.json").read_text())
    complexes = []
    with open(ann_dir / "CORUM_clusters.tsv", encoding="utf-8") as f:
        for line in f:
            name, _, genes = line.rstrip("\n").partition("\t")
            members = sorted(set(genes.split()))
            if name and members:
                complexes.append((name, members))
    pairs = {}
    for db in ("CORUM", "StringDB"):
        with gzip.open(ann_dir / f"{db}.pairs.csv.gz", "rt", encoding="utf-8") as f:
            r = csv.reader(f)
            next(r)
            pairs[db] = {(a, b) for a, b in r}
    return dict(plates=plates, orf=orf, crispr=crispr, control=control, index=index,
                complexes=complexes, pairs=pairs)


def index_keys(index: list[dict]) -> dict[str, dict]:
    out = {}
    for entry in index:
        url = entry["url"]
        if not url.startswith(BUCKET_URL):
            raise SystemExit(f"profile_index.json: unexpected url {url}")
        out[entry["subset"]] = dict(key=url[len(BUCKET_URL):], real_etag=entry["etag"])
    return out


def controls(control: pd.DataFrame, modality: str, kind: str) -> list[str]:
    sel = control[(control.Metadata_modality == modality) & (control.Metadata_pert_type == kind)]
    return sorted(sel.Metadata_JCP2022)


def pick_plates(plates: pd.DataFrame, batches, plate_type: str) -> list[dict]:
    out = []
    for source, batch, n in batches:
        sel = plates[(plates.Metadata_Source == source) & (plates.Metadata_Batch == batch)
                     & (plates.Metadata_PlateType == plate_type)
                     & ~plates.Metadata_Plate.isin(ORF_REDLIST)]
        names = sorted(sel.Metadata_Plate)
        if len(names) < n:
            raise SystemExit(f"plate.csv.gz: fewer than {n} {plate_type} plates in {source}/{batch}")
        out += [dict(source=source, batch=batch, plate=p) for p in names[:n]]
    return out


def pick_compound_plates(plates: pd.DataFrame) -> list[dict]:
    out = []
    for source in COMPOUND_SOURCES:
        sel = plates[(plates.Metadata_Source == source) & (plates.Metadata_PlateType == "COMPOUND")
                     & ~plates.Metadata_Batch.isin(SOURCE3_BATCH_REDLIST)]
        sel = sel.sort_values(["Metadata_Batch", "Metadata_Plate"])
        if len(sel) < COMPOUND_PLATES_PER_SOURCE:
            raise SystemExit(f"plate.csv.gz: too few COMPOUND plates in {source}")
        for _, row in sel.head(COMPOUND_PLATES_PER_SOURCE).iterrows():
            out.append(dict(source=source, batch=row.Metadata_Batch, plate=row.Metadata_Plate))
    return out


def pick_complexes(rng, complexes, symbols: set[str], n: int) -> list[tuple[str, list[str]]]:
    """n CORUM complexes of 3-6 genes, all with a reagent, no gene in two chosen complexes."""
    cands = [(name, genes) for name, genes in complexes
             if COMPLEX_MIN <= len(genes) <= COMPLEX_MAX and all(g in symbols for g in genes)]
    order = rng.permutation(len(cands))
    chosen, used = [], set()
    for i in order:
        name, genes = cands[i]
        if used.isdisjoint(genes):
            chosen.append((name, genes))
            used.update(genes)
            if len(chosen) == n:
                break
    if len(chosen) < n:
        raise SystemExit(f"only {len(chosen)} disjoint CORUM complexes with reagents (wanted {n})")
    return sorted(chosen)


# ----------------------------------------------------------------------------------------------
# signal


def unit(rng, d: int) -> np.ndarray:
    v = rng.standard_normal(d)
    return v / np.linalg.norm(v)


def effect(direction: np.ndarray, strength: float) -> np.ndarray:
    """A vector along `direction` with per-feature RMS `strength`."""
    return direction * strength * np.sqrt(direction.size)


def layout(rng, plates: list[dict], perts: list[dict], fixed: list[tuple[str, int]]) -> list[dict]:
    """Wells: each perturbation on REPLICATES distinct plates (the least-filled first, ties
    broken at random); `fixed` (id, wells per plate) on every plate. Random well positions."""
    n = len(plates)
    load = np.zeros(n, dtype=int)
    per_plate: list[list[str]] = [[] for _ in range(n)]
    for jcp, k in fixed:
        for p in range(n):
            per_plate[p] += [jcp] * k
    for pert in perts:
        keys = load + rng.random(n)
        chosen = np.argsort(keys, kind="stable")[:REPLICATES]
        for p in chosen:
            per_plate[p].append(pert["jcp"])
            load[p] += 1
    rows = []
    for p, plate in enumerate(plates):
        ids = per_plate[p]
        if len(ids) > len(WELLS_384):
            raise SystemExit(f"plate {plate['plate']}: {len(ids)} wells do not fit 384")
        wells = rng.choice(len(WELLS_384), size=len(ids), replace=False)
        for jcp, w in zip(ids, wells):
            rows.append(dict(source=plate["source"], batch=plate["batch"], plate=plate["plate"],
                             well=WELLS_384[w], jcp=jcp))
    rows.sort(key=lambda r: (r["source"], r["plate"], r["well"]))
    return rows


def genetic_screen(rng, cfg: dict, plates, reagents: pd.DataFrame, complexes_all, negcon, poscon,
                   modality: str, two_reagents: int) -> dict:
    """ORF or CRISPR: perturbations, complexes, wells and features."""
    d = cfg["n_features"]
    trt = reagents[~reagents.Metadata_JCP2022.isin(negcon + poscon)]
    trt = trt[(trt.Metadata_Symbol != "") & (trt.Metadata_Symbol != "NA")]
    by_symbol = trt.groupby("Metadata_Symbol").Metadata_JCP2022.apply(sorted).to_dict()
    chosen = pick_complexes(rng, complexes_all, set(by_symbol), cfg["n_complexes"])
    perts, gene_dir = [], {}
    complex_of = {}
    for cname, genes in chosen:
        u = unit(rng, d)
        for g in genes:
            complex_of[g] = cname
            gene_dir[g] = COMPLEX_SHARE * u + np.sqrt(1 - COMPLEX_SHARE**2) * unit(rng, d)
            gene_dir[g] /= np.linalg.norm(gene_dir[g])
    complex_genes = [g for _, genes in chosen for g in genes]
    # A few complex genes with two reagents (ORF: two constructs of one gene).
    multi = [g for g in complex_genes if len(by_symbol[g]) >= 2]
    multi = set(rng.permutation(multi)[:two_reagents].tolist()) if multi else set()
    for g in complex_genes:
        for jcp in by_symbol[g][: 2 if g in multi else 1]:
            perts.append(dict(jcp=jcp, symbol=g, complex=complex_of[g],
                              strength=float(rng.uniform(0.5, 1.0)), direction=gene_dir[g]))
    taken = set(complex_genes)
    others = sorted(s for s in by_symbol if s not in taken)
    n_more = cfg["n_perts"] - len(perts)
    for s in rng.choice(others, size=n_more, replace=False):
        jcp = by_symbol[s][int(rng.integers(len(by_symbol[s])))]
        active = rng.random() >= cfg["inactive"]
        perts.append(dict(jcp=jcp, symbol=str(s), complex=None,
                          strength=float(rng.uniform(0.35, 1.0)) if active else 0.0,
                          direction=unit(rng, d)))
    perts.sort(key=lambda p: p["jcp"])
    fixed = [(j, cfg["negcon_wells_per_id"]) for j in negcon] + [(j, cfg["poscon_wells"]) for j in poscon]
    rows = layout(rng, plates, perts, fixed)
    eff = {p["jcp"]: effect(p["direction"], p["strength"]) for p in perts}
    for j in negcon:
        eff[j] = np.zeros(d)
    for j in poscon:
        eff[j] = effect(unit(rng, d), cfg["poscon_strength"])
    batch_off = {b: effect(unit(rng, d), cfg["batch_rms"]) for b in sorted({p["batch"] for p in plates})}
    plate_off = {p["plate"]: effect(unit(rng, d), cfg["plate_rms"]) for p in plates}
    x = np.empty((len(rows), d))
    for i, r in enumerate(rows):
        x[i] = eff[r["jcp"]] + batch_off[r["batch"]] + plate_off[r["plate"]]
    x += rng.standard_normal(x.shape)
    truth = dict(
        modality=modality, n_wells=len(rows), n_features=d, negcon=negcon, poscon=poscon,
        plates=plates, batch_key="Metadata_Batch (plate.csv.gz)",
        complexes={c: g for c, g in chosen},
        perturbations=[dict(jcp=p["jcp"], symbol=p["symbol"], complex=p["complex"],
                            active=p["strength"] > 0, strength=round(p["strength"], 4))
                       for p in perts],
    )
    return dict(rows=rows, x=x.astype(np.float32), truth=truth, perts=perts)


def compound_screen(rng, plates, negcon: list[str], poscon: list[str]) -> dict:
    cfg = COMPOUND
    d = cfg["n_features"]
    ids = [f"JCP2022_{n:06d}" for n in COMPOUND_IDS]
    perts = []
    group_dirs = [unit(rng, d) for _ in range(cfg["n_groups"])]
    grouped = rng.permutation(len(ids))[: cfg["n_groups"] * cfg["group_size"]]
    group_of = {int(i): g for g in range(cfg["n_groups"])
                for i in grouped[g * cfg["group_size"]:(g + 1) * cfg["group_size"]]}
    for i, jcp in enumerate(ids):
        if i in group_of:
            g = group_of[i]
            v = COMPLEX_SHARE * group_dirs[g] + np.sqrt(1 - COMPLEX_SHARE**2) * unit(rng, d)
            perts.append(dict(jcp=jcp, group=f"group_{g + 1:02d}", strength=float(rng.uniform(0.5, 1.0)),
                              direction=v / np.linalg.norm(v)))
        else:
            active = rng.random() >= cfg["inactive"]
            perts.append(dict(jcp=jcp, group=None,
                              strength=float(rng.uniform(0.35, 1.0)) if active else 0.0,
                              direction=unit(rng, d)))
    fixed = [(j, cfg["negcon_wells"]) for j in negcon] + [(j, cfg["poscon_wells_per_id"]) for j in poscon]
    rows = layout(rng, plates, perts, fixed)
    eff = {p["jcp"]: effect(p["direction"], p["strength"]) for p in perts}
    for j in negcon:
        eff[j] = np.zeros(d)
    for j in poscon:
        eff[j] = effect(unit(rng, d), float(rng.uniform(1.2, 2.0)))
    src_off = {s: effect(unit(rng, d), cfg["batch_rms"]) for s in sorted({p["source"] for p in plates})}
    plate_off = {p["plate"]: effect(unit(rng, d), cfg["plate_rms"]) for p in plates}
    signal = np.empty((len(rows), d))
    src = np.empty((len(rows), d))
    for i, r in enumerate(rows):
        signal[i] = eff[r["jcp"]] + plate_off[r["plate"]]
        src[i] = src_off[r["source"]]
    noise = rng.standard_normal(signal.shape)
    x = signal + src + noise
    # Interpretable: a fixed linear read-out of the uncorrected wells, plus its own noise.
    cfi = INTERPRETABLE
    w = rng.standard_normal((d, cfi["n_features"])) * np.sqrt((1 - cfi["noise"] ** 2) / d)
    raw = (signal + cfi["source_scale"] * src + noise) @ w
    raw += cfi["noise"] * rng.standard_normal(raw.shape)
    truth = dict(
        modality="compound", n_wells=len(rows), n_features=d, negcon=negcon, poscon=poscon,
        plates=plates, batch_key="Metadata_Source",
        groups={f"group_{g + 1:02d}": sorted(p["jcp"] for p in perts if p["group"] == f"group_{g + 1:02d}")
                for g in range(cfg["n_groups"])},
        perturbations=[dict(jcp=p["jcp"], group=p["group"], active=p["strength"] > 0,
                            strength=round(p["strength"], 4)) for p in perts],
    )
    return dict(rows=rows, x=x.astype(np.float32), raw=raw.astype(np.float32), truth=truth, perts=perts)


def cellprofiler_names() -> list[str]:
    """CellProfiler-style feature names (compartment_module_measurement[_channel...]), sorted."""
    ch = ["AGP", "DNA", "ER", "Mito", "RNA"]
    names = []
    for comp in ["Cells", "Cytoplasm", "Nuclei"]:
        for m in ["Area", "Compactness", "Eccentricity", "Extent", "FormFactor", "MajorAxisLength",
                  "MaxFeretDiameter", "MaximumRadius", "MeanRadius", "MedianRadius",
                  "MinFeretDiameter", "MinorAxisLength", "Perimeter", "Solidity"]:
            names.append(f"{comp}_AreaShape_{m}")
        for n in range(10):
            for m in range(n % 2, n + 1, 2):
                names.append(f"{comp}_AreaShape_Zernike_{n}_{m}")
        for a, b in [(a, b) for i, a in enumerate(ch) for b in ch[i + 1:]]:
            for m in ["Correlation", "K", "Overlap", "RWC"]:
                names.append(f"{comp}_Correlation_{m}_{a}_{b}")
        for c in ch:
            for k in range(1, 17):
                names.append(f"{comp}_Granularity_{k}_{c}")
            for m in ["IntegratedIntensity", "IntegratedIntensityEdge", "LowerQuartileIntensity",
                      "MADIntensity", "MassDisplacement", "MaxIntensity", "MaxIntensityEdge",
                      "MeanIntensity", "MeanIntensityEdge", "MedianIntensity", "MinIntensity",
                      "MinIntensityEdge", "StdIntensity", "StdIntensityEdge", "UpperQuartileIntensity"]:
                names.append(f"{comp}_Intensity_{m}_{c}")
            for m in ["FracAtD", "MeanFrac", "RadialCV"]:
                for k in range(1, 5):
                    names.append(f"{comp}_RadialDistribution_{m}_{c}_{k}of4")
            for m in ["AngularSecondMoment", "Contrast", "Correlation", "DifferenceEntropy",
                      "DifferenceVariance", "Entropy", "InfoMeas1", "InfoMeas2",
                      "InverseDifferenceMoment", "SumAverage", "SumEntropy", "SumVariance", "Variance"]:
                for scale in (3, 5, 10):
                    for angle in ("00", "01", "02", "03"):
                        names.append(f"{comp}_Texture_{m}_{c}_{scale}_{angle}_256")
        for m in ["AngleBetweenNeighbors_Adjacent", "FirstClosestDistance_Adjacent",
                  "NumberOfNeighbors_Adjacent", "PercentTouching_Adjacent"]:
            names.append(f"{comp}_Neighbors_{m}")
    return sorted(set(names))


# ----------------------------------------------------------------------------------------------
# writing


def parquet_bytes(rows: list[dict], x: np.ndarray, names: list[str]) -> bytes:
    """The consortium's public layout: 4 metadata columns as pandas StringDtype (Parquet/Arrow
    `string`), then float32 features; written by pandas.to_parquet (pyarrow engine, RangeIndex
    kept as pandas metadata), snappy, one row group, dictionary encoding, statistics."""
    meta = {
        "Metadata_Source": [r["source"] for r in rows],
        "Metadata_Plate": [r["plate"] for r in rows],
        "Metadata_Well": [r["well"] for r in rows],
        "Metadata_JCP2022": [r["jcp"] for r in rows],
    }
    df = pd.concat(
        [pd.DataFrame({k: pd.array(v, dtype="string") for k, v in meta.items()}),
         pd.DataFrame(x, columns=names)],
        axis=1,
    )
    assert all(df[n].dtype == np.float32 for n in names)
    buf = io.BytesIO()
    df.to_parquet(buf, engine="pyarrow", index=None, compression="snappy",
                  row_group_size=len(df), version="2.6", data_page_version="1.0",
                  use_dictionary=True, write_statistics=True)
    return buf.getvalue()


def well_csv_gz(screens: list[dict]) -> bytes:
    """well.csv.gz: Metadata_Source,Metadata_Plate,Metadata_Well,Metadata_JCP2022 for all 384
    wells of every fixture plate; wells without a profile are JCP2022_999999 (empty/untreated,
    which the recipe drops). gzip by pyarrow's bundled zlib: no name, mtime 0."""
    used = {}
    plates = {}
    for s in screens:
        for p in s["truth"]["plates"]:
            plates[p["plate"]] = p["source"]
        for r in s["rows"]:
            used[(r["plate"], r["well"])] = r["jcp"]
    lines = ["Metadata_Source,Metadata_Plate,Metadata_Well,Metadata_JCP2022"]
    for plate, source in sorted(plates.items(), key=lambda kv: (kv[1], kv[0])):
        for w in WELLS_384:
            lines.append(f"{source},{plate},{w},{used.get((plate, w), 'JCP2022_999999')}")
    data = ("\n".join(lines) + "\n").encode()
    out = pa.Codec("gzip", compression_level=9).compress(data, asbytes=True)
    assert gzip.decompress(out) == data
    return out


def s3_etag(data: bytes, part_size: int | None) -> str:
    """S3's ETag (unquoted): md5 for a single-part upload; for a multipart one the md5 of the
    concatenated binary md5s of the parts, then -<number of parts>."""
    if part_size is None:
        return hashlib.md5(data).hexdigest()
    digests = [hashlib.md5(data[i:i + part_size]).digest() for i in range(0, len(data), part_size)]
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def replicate_check(rows: list[dict], x: np.ndarray, negcon: list[str], truth: dict) -> dict:
    """copairs-style AP per perturbation (replicates against negative controls, cosine), mean
    over planted-active and inactive perturbations; a sanity check of the planted signal."""
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.array([r["jcp"] for r in rows])
    neg = np.isin(ids, negcon)
    active = {p["jcp"]: p["active"] for p in truth["perturbations"]}
    aps = {True: [], False: []}
    for jcp in sorted(active):
        idx = np.flatnonzero(ids == jcp)
        for q in idx:
            cand = np.concatenate([idx[idx != q], np.flatnonzero(neg)])
            rel = np.concatenate([np.ones(len(idx) - 1), np.zeros(neg.sum())])
            order = np.argsort(-(xn[cand] @ xn[q]), kind="stable")
            hits = rel[order]
            prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
            aps[active[jcp]].append(float((prec * hits).sum() / hits.sum()))
    return {"mean_ap_active": round(float(np.mean(aps[True])), 4),
            "mean_ap_inactive": round(float(np.mean(aps[False])), 4) if aps[False] else None}


def relation_pairs(truth: dict, pairs: dict) -> dict:
    genes = sorted({p["symbol"] for p in truth["perturbations"]})
    gs = set(genes)
    out = {}
    for db, ps in pairs.items():
        out[db] = sum(1 for a, b in ps if a in gs and b in gs and a < b)
    return out


# ----------------------------------------------------------------------------------------------
# S3


def upload(endpoint: str, out: Path, objects: list[dict]) -> dict:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3},
                      request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"),
    )
    try:
        s3.create_bucket(Bucket=BUCKET)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    report = {"endpoint": endpoint, "bucket": BUCKET, "objects": []}
    errors = []
    for o in objects:
        data = (out / o["key"]).read_bytes()
        if o["part_size"] is None:
            # Public-read as well as the bucket policy: moto evaluates the policy for GET but
            # answered some anonymous HEADs 403 without the object ACL.
            s3.put_object(Bucket=BUCKET, Key=o["key"], Body=data, ACL="public-read")
        else:
            up = s3.create_multipart_upload(Bucket=BUCKET, Key=o["key"], ACL="public-read")
            parts = []
            try:
                for n, off in enumerate(range(0, len(data), o["part_size"]), start=1):
                    r = s3.upload_part(Bucket=BUCKET, Key=o["key"], UploadId=up["UploadId"],
                                       PartNumber=n, Body=data[off:off + o["part_size"]])
                    parts.append({"PartNumber": n, "ETag": r["ETag"]})
                s3.complete_multipart_upload(Bucket=BUCKET, Key=o["key"], UploadId=up["UploadId"],
                                             MultipartUpload={"Parts": parts})
            except Exception:
                s3.abort_multipart_upload(Bucket=BUCKET, Key=o["key"], UploadId=up["UploadId"])
                raise
        head = s3.head_object(Bucket=BUCKET, Key=o["key"])
        etag = head["ETag"].strip('"')
        if etag != o["etag"]:
            errors.append(f"{o['key']}: S3 ETag {etag} != local {o['etag']}")
        if head["ContentLength"] != o["size"]:
            errors.append(f"{o['key']}: S3 size {head['ContentLength']} != local {o['size']}")
        # Anonymous (unsigned) ranged GET, as a client of the public bucket does it.
        url = f"{endpoint.rstrip('/')}/{BUCKET}/{o['key']}"
        req = urllib.request.Request(url, headers={"Range": "bytes=0-99"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, body = resp.status, resp.read()
                content_range = resp.headers.get("Content-Range")
        except urllib.error.HTTPError as e:
            status, body, content_range = e.code, b"", None
        if status != 206 or body != data[:100] or content_range != f"bytes 0-99/{len(data)}":
            errors.append(f"{o['key']}: unsigned ranged GET gave {status}, {content_range}, {len(body)} bytes")
        report["objects"].append({"key": o["key"], "s3_etag": etag, "s3_size": head["ContentLength"],
                                  "unsigned_range_get": status})
        print(f"  uploaded s3://{BUCKET}/{o['key']} ({o['size']} bytes, "
              f"{'multipart ' + str(o['parts']) + ' parts' if o['part_size'] else 'single part'}): ETag {etag}")
    if errors:
        print("make_jump_fixtures: S3 verification FAILED:\n  " + "\n  ".join(errors), file=sys.stderr)
        sys.exit(1)
    return report


# ----------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="output folder (created)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--metadata", type=Path, default=ROOT / "benchmarks/data/jump")
    ap.add_argument("--annotations", type=Path, default=ROOT / "benchmarks/data/annotations")
    ap.add_argument("--upload-s3", metavar="ENDPOINT", help="e.g. http://127.0.0.1:PORT (moto)")
    args = ap.parse_args()

    inp = load_inputs(args.metadata, args.annotations)
    keys = index_keys(inp["index"])
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    ctl = inp["control"]
    orf_plates = pick_plates(inp["plates"], ORF_BATCHES, "ORF")
    crispr_plates = pick_plates(inp["plates"], CRISPR_BATCHES, "CRISPR")
    compound_plates = pick_compound_plates(inp["plates"])

    orf = genetic_screen(np.random.default_rng([args.seed, 1]), ORF, orf_plates, inp["orf"],
                         inp["complexes"], controls(ctl, "orf", "negcon"), controls(ctl, "orf", "poscon"),
                         "orf", two_reagents=6)
    crispr = genetic_screen(np.random.default_rng([args.seed, 2]), CRISPR, crispr_plates, inp["crispr"],
                            inp["complexes"], controls(ctl, "crispr", "negcon"),
                            controls(ctl, "crispr", "poscon"), "crispr", two_reagents=0)
    compound = compound_screen(np.random.default_rng([args.seed, 3]), compound_plates,
                               controls(ctl, "compound", "negcon"), controls(ctl, "compound", "poscon"))

    files = []  # (subset, key, bytes, rows, n_features, part_size)
    for subset, s in (("orf", orf), ("crispr", crispr), ("compound", compound)):
        names = [f"X_{i}" for i in range(1, s["x"].shape[1] + 1)]
        files.append((subset, keys[subset]["key"], parquet_bytes(s["rows"], s["x"], names),
                      len(s["rows"]), len(names), None))
    cp_names = cellprofiler_names()
    pick = np.sort(np.random.default_rng([args.seed, 4]).choice(
        len(cp_names), INTERPRETABLE["n_features"], replace=False))
    cp_names = [cp_names[i] for i in pick]
    files.append((MULTIPART_SUBSET, keys[MULTIPART_SUBSET]["key"],
                  parquet_bytes(compound["rows"], compound["raw"], cp_names),
                  len(compound["rows"]), len(cp_names), PART_SIZE))
    files.append(("well", WELL_KEY, well_csv_gz([orf, crispr, compound]),
                  sum(len(s["truth"]["plates"]) for s in (orf, crispr, compound)) * 384, None, None))

    objects = []
    for subset, key, data, rows, nfeat, part_size in files:
        if part_size is not None and not (2 * part_size < len(data) <= 3 * part_size):
            raise SystemExit(f"{key}: {len(data)} bytes is not a 3-part upload at {part_size}")
        write_atomic(out / key, data)
        parts = -(-len(data) // part_size) if part_size else 1
        objects.append(dict(
            subset=subset, key=key, bucket=BUCKET, size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), etag=s3_etag(data, part_size),
            part_size=part_size, parts=parts, rows=rows, n_features=nfeat,
            real_etag=keys[subset]["real_etag"] if subset in keys else None,
            url=(BUCKET_URL + key) if subset in keys else f"https://raw.githubusercontent.com/{key}",
        ))

    truth = {
        "seed": args.seed,
        "noise": "N(0,1) per feature; effect strength = per-feature RMS of a perturbation's effect",
        "orf": orf["truth"], "crispr": crispr["truth"], "compound": compound["truth"],
        "replicate_check": {
            "orf": replicate_check(orf["rows"], orf["x"], orf["truth"]["negcon"], orf["truth"]),
            "crispr": replicate_check(crispr["rows"], crispr["x"], crispr["truth"]["negcon"], crispr["truth"]),
            "compound": replicate_check(compound["rows"], compound["x"], compound["truth"]["negcon"],
                                        compound["truth"]),
        },
        "relation_pairs_among_genes": {"orf": relation_pairs(orf["truth"], inp["pairs"]),
                                       "crispr": relation_pairs(crispr["truth"], inp["pairs"])},
    }
    manifest = {
        "generator": "tests/remote/make_jump_fixtures.py",
        "seed": args.seed,
        "bucket": BUCKET,
        "etag_format": "unquoted, as in profile_index.json; <md5> single part, <md5 of part md5s>-<parts> multipart",
        "objects": objects,
    }
    write_atomic(out / "fixtures_truth.json", (json.dumps(truth, indent=1, sort_keys=True) + "\n").encode())
    write_atomic(out / "fixtures.json", (json.dumps(manifest, indent=1) + "\n").encode())
    for o in objects:
        print(f"{o['subset']:<22} {o['size']:>9} bytes  rows {o['rows']:>5}  "
              f"features {o['n_features'] if o['n_features'] is not None else '-':>5}  etag {o['etag']}  {o['key']}")
    print("replicate check (mean AP of replicates vs negcon):", json.dumps(truth["replicate_check"]))
    print("relation pairs among fixture genes:", json.dumps(truth["relation_pairs_among_genes"]))

    if args.upload_s3:
        report = upload(args.upload_s3, out, objects)
        write_atomic(out / "upload.json", (json.dumps(report, indent=1) + "\n").encode())
        print(f"uploaded {len(objects)} objects to s3://{BUCKET} at {args.upload_s3}; ETags verified")


if __name__ == "__main__":
    main()
