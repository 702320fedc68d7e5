"""Wall time, CPU time and peak memory of one command, for the ci/compare-*.py scripts.

Peak memory comes from GNU time (`/usr/bin/time -f %M`), not from the Python parent's wait4:
Linux carries a process's high-water RSS across fork and exec, so a child started from a
Python process with numpy and pandas loaded would report at least the parent's footprint.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple


class Measured(NamedTuple):
    """One run of a command."""

    wall_s: float
    cpu_s: float
    peak_mib: float
    stdout: str


def run(cmd: list, env: dict | None = None) -> Measured:
    """Runs cmd (which must succeed; otherwise its stderr is shown and the script exits)."""
    # Flush what earlier commands wrote, outside the timing: their writeback (kernel threads on
    # the same two cores, journal commits) otherwise lands in whichever command runs next.
    os.sync()
    with tempfile.NamedTemporaryFile(mode="r", suffix=".time") as usage, \
            tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", usage.name, *map(str, cmd)],
                           stdout=so, stderr=se, env=env)
        wall = time.perf_counter() - t0
        so.seek(0)
        se.seek(0)
        if p.returncode != 0:
            sys.stderr.write(se.read().decode(errors="replace"))
            raise SystemExit(f"command failed ({p.returncode}): {' '.join(map(str, cmd))}")
        peak_kib, user, system = map(float, usage.read().split()[-3:])
        return Measured(wall, user + system, peak_kib / 1024.0, so.read().decode())


def warm_cache(path) -> None:
    """Reads a file once, untimed, into the page cache.

    An input idle for a minute or more can be dropped from the cache (this VM's DAMON reclaim
    pages out cold memory), and then whichever command runs first pays for reading it from disk:
    a 17.8 s first `prep sphere` against 3.7-5.5 s for the next four.
    """
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass
