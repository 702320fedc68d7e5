#!/usr/bin/env python3
"""Writes corum_complexes_by_gene.csv: each gene of ../annotations/CORUM_clusters.tsv with the
CORUM complexes it belongs to, `|`-separated and sorted (the multilabel column the JUMP
gene-consistency tasks score: genes sharing a complex are positives). Standard library only;
the output is byte-identical on every run.

    python3 benchmarks/data/jump/make_corum_labels.py
"""

import csv
import os
from collections import defaultdict

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "..", "annotations", "CORUM_clusters.tsv")
out = os.path.join(here, "corum_complexes_by_gene.csv")

complexes = defaultdict(set)
with open(src, encoding="utf-8") as f:
    for line_no, line in enumerate(f, 1):
        line = line.rstrip("\n")
        if not line:
            continue
        name, _, genes = line.partition("\t")
        if "|" in name:
            raise SystemExit(f"{src}:{line_no}: complex name contains the separator '|'")
        for gene in genes.split():
            complexes[gene].add(name)

tmp = out + ".part"
with open(tmp, "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["Metadata_Symbol", "Metadata_corum_complexes"])
    for gene in sorted(complexes):
        w.writerow([gene, "|".join(sorted(complexes[gene]))])
os.replace(tmp, out)
print(f"{out}: {len(complexes)} genes")
