#!/usr/bin/env python3
"""A static HTTP/1.1 file server over a folder, for the remote-data tests (issue 18). Stdlib only.

    python3 tests/remote/range_server.py --root DIR --port-file FILE [options]

Binds 127.0.0.1 on a free port (or --port), writes the port to --port-file (atomically, once it
listens) and serves GET and HEAD of DIR/<url path> with Content-Length, ETag, Last-Modified and
Accept-Ranges: bytes, the way S3 serves an object:

- ETag: the quoted md5 of the file (S3's single-part ETag), or with --etags fixtures.json the
  ETag recorded there for that key (make_jump_fixtures.py: multipart ETags like "<md5>-3").
- Range: one range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) -> 206 with Content-Range; an
  unsatisfiable one -> 416 with `Content-Range: bytes */SIZE`; several ranges, or a malformed
  header, are ignored (200 with the whole file), as RFC 9110 allows.
- If-Match (412 when no listed ETag equals the file's; `*` matches), If-None-Match (304),
  If-Range (a different ETag -> the whole file, 200).

Fault injection, to test a client's resume and retry:
  --rate BYTES_PER_SECOND  throttle every response body (so a test can kill a client mid-download)
  --fail-first N           answer 503 (S3's SlowDown, `Retry-After: 1`) to the first N GETs of
                           existing files
  --truncate-first N       on the first N GETs that get a body (after the --fail-first ones), send
                           the headers with the full Content-Length, half the body, then close
  --log FILE               append one JSON line per request: method, path, range, if_match,
                           status, bytes (body bytes sent), fault (null, "fail" or "truncate")
  --parent-pid PID         exit when process PID is gone (a test that died without stopping us)
  --pid-file FILE          write our pid there

Stop it with SIGTERM or SIGINT (exits 0).
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHUNK = 64 * 1024
RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


class State:
    def __init__(self, args):
        self.root = Path(args.root).resolve()
        self.rate = args.rate
        self.fail_left = args.fail_first
        self.truncate_left = args.truncate_first
        self.lock = threading.Lock()
        self.log_path = args.log
        self.etags: dict[str, str] = {}
        self.md5_cache: dict[tuple, str] = {}
        if args.etags:
            manifest = json.loads(Path(args.etags).read_text())
            objects = manifest["objects"] if isinstance(manifest, dict) else manifest
            for o in objects:
                self.etags[o["key"]] = o["etag"].strip('"')

    def take(self, what: str) -> bool:
        with self.lock:
            left = getattr(self, what)
            if left > 0:
                setattr(self, what, left - 1)
                return True
            return False

    def etag(self, key: str, path: Path, st: os.stat_result) -> str:
        if key in self.etags:
            return self.etags[key]
        sig = (str(path), st.st_size, st.st_mtime_ns)
        with self.lock:
            cached = self.md5_cache.get(sig)
        if cached:
            return cached
        h = hashlib.md5()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        with self.lock:
            self.md5_cache[sig] = h.hexdigest()
        return h.hexdigest()

    def log(self, record: dict) -> None:
        if not self.log_path:
            return
        line = json.dumps(record, sort_keys=True) + "\n"
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line)


def etag_list(header: str) -> list[str]:
    return [t.strip().removeprefix("W/").strip('"') for t in header.split(",") if t.strip()]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cpbench-range-server/1"
    state: State  # set on the class by main()

    def log_message(self, fmt, *args):  # quiet: --log records requests
        pass

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def finish_log(self, status: int, sent: int, fault=None):
        self.state.log({
            "time": round(time.time(), 3), "method": self.command, "path": self.path,
            "range": self.headers.get("Range"), "if_match": self.headers.get("If-Match"),
            "status": status, "bytes": sent, "fault": fault,
        })

    def simple(self, status: int, body: bytes = b"", headers: dict | None = None, head=False, fault=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body and "Content-Type" not in (headers or {}):
            self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)
        self.finish_log(status, 0 if head else len(body), fault)

    def serve(self, head: bool):
        st_ = self.state
        raw_path = urllib.parse.urlsplit(self.path).path
        key = urllib.parse.unquote(raw_path).lstrip("/")
        path = (st_.root / key).resolve()
        if not key or st_.root not in path.parents or not path.is_file():
            return self.simple(404, b"<Error><Code>NoSuchKey</Code></Error>", head=head)
        if not head and st_.take("fail_left"):
            return self.simple(503, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
                               {"Retry-After": "1"}, head=head, fault="fail")
        stat = path.stat()
        size = stat.st_size
        etag = st_.etag(key, path, stat)
        common = {
            "ETag": f'"{etag}"',
            "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
            "Accept-Ranges": "bytes",
        }
        if_match = self.headers.get("If-Match")
        if if_match is not None and if_match.strip() != "*" and etag not in etag_list(if_match):
            return self.simple(412, b"<Error><Code>PreconditionFailed</Code></Error>", head=head)
        if_none = self.headers.get("If-None-Match")
        if if_none is not None and (if_none.strip() == "*" or etag in etag_list(if_none)):
            return self.simple(304, b"", common, head=True)

        start, end = 0, size - 1
        status = 200
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if rng is not None and (if_range is None or if_range.strip().strip('"') == etag):
            m = RANGE_RE.match(rng)
            if m and (m.group(1) or m.group(2)):
                a, b = m.group(1), m.group(2)
                unsatisfiable = False
                if a == "":  # suffix range: the last n bytes
                    n = int(b)
                    if n == 0 or size == 0:
                        unsatisfiable = True
                    else:
                        start, end, status = max(0, size - n), size - 1, 206
                elif b and int(b) < int(a):
                    pass  # invalid range: ignored, whole file
                elif int(a) >= size:
                    unsatisfiable = True
                else:
                    start = int(a)
                    end = min(int(b), size - 1) if b else size - 1
                    status = 206
                if unsatisfiable:
                    return self.simple(416, b"<Error><Code>InvalidRange</Code></Error>",
                                       {"Content-Range": f"bytes */{size}"}, head=head)
        length = end - start + 1 if size else 0
        truncate = (not head) and length > 0 and st_.take("truncate_left")
        self.send_response(status)
        for k, v in common.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "binary/octet-stream")
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return self.finish_log(status, 0)
        to_send = length // 2 if truncate else length
        sent = 0
        try:
            with open(path, "rb") as f:
                f.seek(start)
                t0 = time.monotonic()
                step = CHUNK if not st_.rate else max(1, min(CHUNK, st_.rate // 20))
                while sent < to_send:
                    block = f.read(min(step, to_send - sent))
                    if not block:
                        break
                    self.wfile.write(block)
                    sent += len(block)
                    if st_.rate:
                        ahead = sent / st_.rate - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return self.finish_log(status, sent, "client-gone")
        if truncate:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return self.finish_log(status, sent, "truncate")
        self.finish_log(status, sent)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    ap.add_argument("--port-file")
    ap.add_argument("--pid-file")
    ap.add_argument("--etags", help="fixtures.json of make_jump_fixtures.py: ETag per key")
    ap.add_argument("--rate", type=int, default=0, help="bytes per second for bodies (0: no limit)")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--truncate-first", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--parent-pid", type=int)
    args = ap.parse_args()
    if not Path(args.root).is_dir():
        sys.exit(f"range_server: --root {args.root} is not a folder")

    Handler.state = State(args)
    httpd = Server(("127.0.0.1", args.port), Handler)
    port = httpd.server_address[1]

    def stop(*_):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.parent_pid:
        def watch():
            while True:
                try:
                    os.kill(args.parent_pid, 0)
                except ProcessLookupError:
                    return stop()
                except PermissionError:
                    pass
                time.sleep(0.5)
        threading.Thread(target=watch, daemon=True).start()
    for path, value in ((args.pid_file, os.getpid()), (args.port_file, port)):
        if path:
            tmp = f"{path}.part"
            Path(tmp).write_text(f"{value}\n")
            os.replace(tmp, path)
    print(f"range_server: serving {Handler.state.root} on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
