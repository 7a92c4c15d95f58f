"""A loopback server speaking the part of the Hugging Face Hub HTTP API that huggingface_hub uses to create a
dataset repo, commit files (regular, base64 uploads), list trees and download files. In memory, for tests."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


def blob_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


class FakeHub:
    def __init__(self, token: str, user: str = "alice") -> None:
        self.token, self.user = token, user
        self.repos: dict[str, dict[str, dict[str, bytes]]] = {}  # repo -> branch -> path -> bytes
        self.commits: list[tuple[str, str, list[str]]] = []  # (repo, branch, paths touched)
        self.fail_next_commits = 0  # answer this many commits with 503
        self.requests: list[str] = []
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                hub.handle(self, "GET")

            def do_HEAD(self):
                hub.handle(self, "HEAD")

            def do_POST(self):
                hub.handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()

    @staticmethod
    def _sha(files: dict[str, bytes]) -> str:
        h = hashlib.sha1()
        for p in sorted(files):
            h.update(p.encode() + blob_sha1(files[p]).encode())
        return h.hexdigest()

    def _files_at(self, repo: str, rev: str) -> dict[str, bytes] | None:
        """A branch by name, or the branch whose current commit is ``rev``."""
        branches = self.repos.get(repo, {})
        if rev in branches:
            return branches[rev]
        return next((f for f in branches.values() if self._sha(f) == rev), None)

    def _send(self, h, status: int, body: object = None, headers: dict | None = None, head=False) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body if body is not None else {}).encode()
        h.send_response(status)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Content-Type", "application/json" if not isinstance(body, bytes) else "application/octet-stream")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if not head:
            h.wfile.write(data)

    def _error(self, h, status: int, msg: str, head=False) -> None:
        self._send(h, status, {"error": msg}, {"X-Error-Message": msg}, head=head)

    def handle(self, h, method: str) -> None:
        url = urlparse(h.path)
        path = unquote(url.path)
        self.requests.append(f"{method} {path}")
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        authed = h.headers.get("Authorization") == f"Bearer {self.token}"
        with self.lock:
            self._route(h, method, path, body, authed)

    def _route(self, h, method, path, body, authed) -> None:
        if method == "POST" and path == "/api/repos/create":
            if not authed:
                return self._error(h, 401, "Invalid credentials")
            req = json.loads(body)
            ns = req.get("organization") or self.user
            repo = f"{ns}/{req['name']}"
            if ns != self.user:
                return self._error(h, 403, "You don't have the rights to create a dataset under this namespace")
            if repo in self.repos:  # the Hub answers 409 with the repo's url, which exist_ok=True reads
                return self._send(
                    h, 409, {"error": "You already created this dataset repo", "url": f"{self.url}/datasets/{repo}"}
                )
            self.repos[repo] = {"main": {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}}
            return self._send(h, 200, {"url": f"{self.url}/datasets/{repo}", "name": repo})
        if method == "POST" and path == "/api/validate-yaml":  # checked before committing a README.md
            return self._send(h, 200, {"errors": [], "warnings": []})
        m = re.match(r"^/api/datasets/([^/]+/[^/]+)/(tree|preupload|commit|revision|branch)/(.+?)$", path)
        if m:
            repo, verb, rest = m.groups()
            if repo not in self.repos:
                return self._error(h, 404, "Repository not found", head=method == "HEAD")
            if verb == "branch":
                self.repos[repo].setdefault(rest, dict(self.repos[repo]["main"]))
                return self._send(h, 200, {})
            rev = rest.split("/")[0]
            files = self._files_at(repo, rev)
            if files is None:
                return self._error(h, 404, "Revision not found")
            if verb == "tree":
                return self._send(
                    h,
                    200,
                    [
                        {"type": "file", "path": p, "size": len(b), "oid": blob_sha1(b)}
                        for p, b in sorted(files.items())
                    ],
                )
            if verb == "revision":
                return self._send(
                    h,
                    200,
                    {
                        "id": repo,
                        "sha": self._sha(files),
                        "private": False,
                        "siblings": [{"rfilename": p} for p in sorted(files)],
                    },
                )
            if not authed:
                return self._error(h, 401, "Invalid credentials")
            if verb == "preupload":
                req = json.loads(body)
                return self._send(
                    h,
                    200,
                    {
                        "files": [
                            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in req["files"]
                        ]
                    },
                )
            if verb == "commit":
                if self.fail_next_commits:
                    self.fail_next_commits -= 1
                    return self._error(h, 503, "Service unavailable")
                touched = []
                for line in body.decode().splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                        touched.append(item["value"]["path"])
                    elif item["key"] == "deletedFile":
                        files.pop(item["value"]["path"], None)
                        touched.append("-" + item["value"]["path"])
                self.commits.append((repo, rev, touched))
                sha = self._sha(files)
                return self._send(h, 200, {"commitUrl": f"{self.url}/datasets/{repo}/commit/{sha}", "commitOid": sha})
        m = re.match(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
        if m and method in ("GET", "HEAD"):
            repo, rev, fpath = m.groups()
            files = self._files_at(repo, rev)
            if files is None or fpath not in files:
                return self._error(h, 404, "Entry not found", head=method == "HEAD")
            data = files[fpath]
            return self._send(
                h, 200, data, {"X-Repo-Commit": self._sha(files), "ETag": f'"{blob_sha1(data)}"'}, head=method == "HEAD"
            )
        return self._error(h, 404, f"not served by the fake hub: {method} {path}", head=method == "HEAD")
