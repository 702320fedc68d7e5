#!/usr/bin/env python3
"""Select the gene set of the `grape-corum14` benchmark from the shipped CORUM complexes.

GRAPE (Bigverdi, Hoeckendorf et al., CVPR Workshops 2024) evaluates gene embeddings on
14 non-overlapping CORUM complexes of 5-10 genes, 106 genes in all. The paper does not
list them in a form we can reuse, and the shipped `grape/perturbed_genes.txt` (272 genes)
cannot reproduce its exact rule (no complex of 5-10 genes holds more than 4 of them), so
this script fixes its own deterministic rule and writes the result.

Input (paths relative to the repository root, found from this file's location):

- `benchmarks/data/annotations/CORUM_clusters.tsv`: no header, one complex per line,
  `complex name<TAB>space-separated gene symbols` (2,696 complexes, names unique).
- `benchmarks/data/grape/perturbed_genes.txt`: one gene symbol per line.

Rule:

1. Read every complex; its gene set is the set of distinct symbols on its line.
   Its line number (1-based) in CORUM_clusters.tsv is its `Metadata_complex_id`.
2. Keep the complexes with 5 to 10 distinct genes (inclusive).
3. Rank them by the number of their genes listed in perturbed_genes.txt, most first;
   ties keep file order (line number ascending).
4. Walk that ranking and pick a complex unless it shares a gene with a complex already
   picked (which also excludes complexes with a gene set identical to an earlier pick);
   stop after 13 picks.
5. The 14th complex: the first complex further down the same ranking that shares no
   gene with the 13 picks and has exactly 106 - (genes of the 13 picks) genes. If that
   target is outside 5-10, or no such complex exists, the script fails (exit status 1)
   rather than bend the rule.

Output: `genes.csv` next to this script, columns
`Metadata_gene,Metadata_complex,Metadata_complex_id`, one row per gene, rows in pick
order, genes sorted (code-point order) within a complex; UTF-8, `\\n` line ends, fields
quoted only where needed (complex names may contain commas). Byte-for-byte
deterministic. A summary goes to stdout.

Python 3.11 standard library only. Run: `python3 benchmarks/grape-corum14/select_genes.py`
(`--check` compares with the committed genes.csv instead of writing it).
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
CORUM = DATA / "annotations" / "CORUM_clusters.tsv"
PERTURBED = DATA / "grape" / "perturbed_genes.txt"
OUT = HERE / "genes.csv"

N_COMPLEXES = 14
N_GENES = 106
MIN_SIZE = 5
MAX_SIZE = 10


class Complex:
    def __init__(self, line_no: int, name: str, genes: list[str], n_perturbed: int):
        self.line_no = line_no
        self.name = name
        self.genes = genes
        self.n_perturbed = n_perturbed


def read_lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8")
    if "\r" in text:
        raise SystemExit(f"{path}: unexpected carriage return")
    return text.split("\n")


def read_complexes(perturbed: set[str]) -> list[Complex]:
    out = []
    names = set()
    for i, line in enumerate(read_lines(CORUM), start=1):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise SystemExit(f"{CORUM}:{i}: expected 2 tab-separated fields, got {len(parts)}")
        name, genes = parts
        if name in names:
            raise SystemExit(f"{CORUM}:{i}: complex name '{name}' repeated")
        names.add(name)
        symbols = sorted(set(genes.split()))
        if not symbols:
            raise SystemExit(f"{CORUM}:{i}: complex '{name}' has no genes")
        out.append(Complex(i, name, symbols, sum(g in perturbed for g in symbols)))
    return out


def select(complexes: list[Complex]) -> list[Complex]:
    eligible = [c for c in complexes if MIN_SIZE <= len(c.genes) <= MAX_SIZE]
    ranking = sorted(eligible, key=lambda c: (-c.n_perturbed, c.line_no))
    picks: list[Complex] = []
    used: set[str] = set()
    rest = iter(ranking)
    for c in rest:
        if used.isdisjoint(c.genes):
            picks.append(c)
            used.update(c.genes)
            if len(picks) == N_COMPLEXES - 1:
                break
    if len(picks) < N_COMPLEXES - 1:
        raise SystemExit(f"only {len(picks)} non-overlapping complexes of {MIN_SIZE}-{MAX_SIZE} genes")
    target = N_GENES - len(used)
    if not MIN_SIZE <= target <= MAX_SIZE:
        raise SystemExit(
            f"the first {N_COMPLEXES - 1} picks hold {len(used)} genes; the last complex "
            f"would need {target}, outside {MIN_SIZE}-{MAX_SIZE}: the rule cannot reach {N_GENES}"
        )
    for c in rest:
        if len(c.genes) == target and used.isdisjoint(c.genes):
            picks.append(c)
            return picks
    raise SystemExit(
        f"no remaining non-overlapping complex has exactly {target} genes: "
        f"the rule cannot reach {N_GENES}"
    )


def render(picks: list[Complex]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(["Metadata_gene", "Metadata_complex", "Metadata_complex_id"])
    for c in picks:
        for g in c.genes:
            w.writerow([g, c.name, c.line_no])
    return buf.getvalue().encode("utf-8")


def main(argv: list[str]) -> int:
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        print(f"usage: {argv[0]} [--check]", file=sys.stderr)
        return 2
    perturbed = {g for g in read_lines(PERTURBED) if g.strip()}
    picks = select(read_complexes(perturbed))
    data = render(picks)
    genes = [g for c in picks for g in c.genes]
    assert len(picks) == N_COMPLEXES and len(genes) == N_GENES == len(set(genes))

    print(f"{'#':>2}  {'line':>4}  {'genes':>5}  {'perturbed':>9}  complex")
    for i, c in enumerate(picks, start=1):
        print(f"{i:>2}  {c.line_no:>4}  {len(c.genes):>5}  {c.n_perturbed:>9}  {c.name}")
    n_pert = sum(g in perturbed for g in genes)
    print(f"{len(picks)} complexes, {len(genes)} genes, {n_pert} of them in {PERTURBED.name}")

    if check:
        if OUT.read_bytes() != data:
            print(f"{OUT} differs from what the rule produces", file=sys.stderr)
            return 1
        print(f"{OUT.name} is up to date")
    else:
        OUT.write_bytes(data)
        print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
