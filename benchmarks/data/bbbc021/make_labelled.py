#!/usr/bin/env python3
"""Join BBBC021's raw per-well means with their compound, concentration and MoA labels.

Reads, in this folder:
  ljosa_jbiomolscreen_2013_per_well_mean.csv.gz  632 wells x 516 raw per-well feature means,
                                                 keyed by Image_Metadata_Plate, Image_Metadata_Well
  BBBC021_v1_image.csv.gz                        one row per image: Image_Metadata_Plate_DAPI,
                                                 Image_Metadata_Well_DAPI, Image_Metadata_Compound,
                                                 Image_Metadata_Concentration
  BBBC021_v1_moa.csv                             compound, concentration, moa

Writes bbbc021_raw_per_well_labelled.csv.gz: the wells in the order of the per-well file, with
columns Metadata_Plate, Metadata_Well, Metadata_Batch (the `WeekN` prefix of the plate),
Metadata_Compound, Metadata_Concentration (as written in the image table), Metadata_moa, then
every feature column with its text copied unchanged. Concentrations are matched numerically
(the image table writes 0.003, the MoA table 0.003000). Fails on a well without labels, a well
whose images disagree on compound or concentration, or a treatment without an MoA.

The output bytes are deterministic (gzip mtime 0, no file name in the header, '\\n' line ends).
Python 3.11 standard library only.

    python3 benchmarks/data/bbbc021/make_labelled.py            # write
    python3 benchmarks/data/bbbc021/make_labelled.py --check    # compare with the committed file
"""

import csv
import gzip
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEANS = HERE / "ljosa_jbiomolscreen_2013_per_well_mean.csv.gz"
IMAGES = HERE / "BBBC021_v1_image.csv.gz"
MOA = HERE / "BBBC021_v1_moa.csv"
OUT = HERE / "bbbc021_raw_per_well_labelled.csv.gz"

META = [
    "Metadata_Plate",
    "Metadata_Well",
    "Metadata_Batch",
    "Metadata_Compound",
    "Metadata_Concentration",
    "Metadata_moa",
]


def read_csv(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def conc_key(text):
    """Numeric key of a concentration, robust to 0.003 vs 0.003000."""
    return repr(float(text))


def well_labels():
    rows = read_csv(IMAGES)
    head = rows[0]
    ip, iw, ic, ix = (
        head.index(c)
        for c in (
            "Image_Metadata_Plate_DAPI",
            "Image_Metadata_Well_DAPI",
            "Image_Metadata_Compound",
            "Image_Metadata_Concentration",
        )
    )
    labels = {}
    for r in rows[1:]:
        key = (r[ip], r[iw])
        value = (r[ic], r[ix])
        if labels.setdefault(key, value) != value:
            sys.exit(f"error: images of well {key} disagree: {labels[key]} vs {value}")
    return labels


def moa_table():
    rows = read_csv(MOA)
    head = rows[0]
    ic, ix, im = (head.index(c) for c in ("compound", "concentration", "moa"))
    moa = {}
    for r in rows[1:]:
        key = (r[ic], conc_key(r[ix]))
        if moa.setdefault(key, r[im]) != r[im]:
            sys.exit(f"error: conflicting MoAs for {key}")
    return moa


def build():
    labels = well_labels()
    moa = moa_table()
    rows = read_csv(MEANS)
    head = rows[0]
    ip = head.index("Image_Metadata_Plate")
    iw = head.index("Image_Metadata_Well")
    feats = [i for i in range(len(head)) if i not in (ip, iw)]
    for i in feats:
        if head[i].startswith("Metadata_"):
            sys.exit(f"error: feature column {head[i]} would read as metadata")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(META + [head[i] for i in feats])
    for r in rows[1:]:
        plate, well = r[ip], r[iw]
        if (plate, well) not in labels:
            sys.exit(f"error: no image rows for well {plate} {well}")
        compound, conc = labels[(plate, well)]
        key = (compound, conc_key(conc))
        if key not in moa:
            sys.exit(f"error: no MoA for {compound} at {conc} (well {plate} {well})")
        batch = plate.split("_", 1)[0]
        if not batch.startswith("Week"):
            sys.exit(f"error: plate {plate} has no WeekN_ prefix")
        w.writerow([plate, well, batch, compound, conc, moa[key]] + [r[i] for i in feats])
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    return out.getvalue(), len(rows) - 1, len(feats)


def main():
    data, n, f = build()
    if "--check" in sys.argv[1:]:
        if OUT.read_bytes() != data:
            sys.exit(f"error: {OUT.name} differs from what make_labelled.py writes")
        print(f"{OUT.name}: up to date ({n} wells, {f} features)")
        return
    OUT.write_bytes(data)
    print(f"wrote {OUT.name}: {n} wells, {f} features")


if __name__ == "__main__":
    main()
