#!/usr/bin/env python3
"""Writes a copy of a JUMP benchmark manifest whose pins are those of the fixture objects.

The shipped manifests (benchmarks/jump-*/benchmark.toml) pin the consortium's real files; the
fixtures of make_jump_fixtures.py live at the same keys with other bytes, so their pins differ.
This replaces, in the manifest text, each real etag with the fixture's etag of the same key, the
git blob id of well.csv.gz with the fixture's, and every `../` path with an absolute path into
the repository (the copy lives elsewhere). URLs are kept: the test points them at the loopback
servers with CPBENCH_S3_ENDPOINT / CPBENCH_URL_REWRITE, as a user would a mirror. Stdlib only.

    python3 tests/remote/fixture_manifest.py benchmarks/jump-orf/benchmark.toml FX/fixtures.json OUT.toml
"""

import hashlib
import json
import os
import re
import sys


def git_blob(path):
    data = open(path, "rb").read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def main():
    manifest, fixtures, out = sys.argv[1:4]
    text = open(manifest, encoding="utf-8").read()
    fx = json.load(open(fixtures, encoding="utf-8"))
    root = os.path.dirname(os.path.abspath(fixtures))
    bench_dir = os.path.dirname(os.path.abspath(manifest))
    replaced = 0
    for obj in fx["objects"]:
        key = obj["key"]
        if key not in text:
            continue
        if obj.get("real_etag") and obj["real_etag"] in text:
            text = text.replace(obj["real_etag"], obj["etag"])
            replaced += 1
        if key.endswith("well.csv.gz"):
            local = os.path.join(root, key)
            text = re.sub(r'git_blob = "[0-9a-f]{40}"', f'git_blob = "{git_blob(local)}"', text)
            replaced += 1
    if replaced == 0:
        raise SystemExit(f"{manifest}: no fixture object is named in it")
    text = re.sub(r'"\.\./', lambda m: '"' + os.path.dirname(bench_dir) + "/", text)
    tmp = out + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, out)
    print(f"{out}: {replaced} pins replaced")


if __name__ == "__main__":
    main()
