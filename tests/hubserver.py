"""A loopback server speaking the part of the Hugging Face Hub HTTP API that huggingface_hub uses to create a
dataset repo, change its visibility, commit files, list trees and download files. In memory, for tests.

It answers as the Hub does where resuming depends on it (Hub API docs and huggingface_hub's _commit_api.py
and lfs.py):
- ``preupload`` sends binary and LFS-tracked files (parquet, png, jpg: the dataset .gitattributes) to LFS,
  the rest as regular base64 uploads, and returns the remote ``oid`` of a path that exists (the SHA-256 for
  LFS files, the git blob id for regular ones), which huggingface_hub compares to skip unchanged files;
- LFS objects go through ``{repo}.git/info/lfs/objects/batch``: objects the server already holds come back
  without ``actions`` (nothing to upload), the others with an ``upload`` href to PUT the bytes to;
- a commit names LFS files by ``lfsFile`` {path, algo, oid}; the tree lists an LFS file with ``oid`` = the
  git blob id of its *pointer* file and ``lfs`` = {oid: SHA-256 of the content, size, pointerSize}.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

LFS_SUFFIXES = (".parquet", ".png", ".jpg", ".jpeg")


def blob_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    oid = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n".encode()


@dataclass
class Stored:
    data: bytes
    lfs: bool

    @property
    def oid(self) -> str:  # what the tree and preupload report
        return hashlib.sha256(self.data).hexdigest() if self.lfs else blob_sha1(self.data)

    def tree_entry(self, path: str) -> dict:
        if not self.lfs:
            return {"type": "file", "path": path, "size": len(self.data), "oid": blob_sha1(self.data)}
        pointer = lfs_pointer(self.data)
        return {
            "type": "file",
            "path": path,
            "size": len(self.data),
            "oid": blob_sha1(pointer),
            "lfs": {"oid": hashlib.sha256(self.data).hexdigest(), "size": len(self.data), "pointerSize": len(pointer)},
        }


class FakeHub:
    def __init__(self, token: str, user: str = "alice") -> None:
        self.token, self.user = token, user
        self.repos: dict[str, dict[str, dict[str, Stored]]] = {}  # repo -> branch -> path -> file
        self.private: dict[str, bool] = {}
        self.lfs_store: dict[str, bytes] = {}  # sha256 -> bytes
        self.lfs_uploads: list[str] = []  # sha256 of every object PUT
        self.commits: list[tuple[str, str, list[str]]] = []  # (repo, branch, paths touched)
        self.fail_next_commits = 0  # answer this many commits with 503
        self.silent_commits = False  # never answer a commit
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

            def do_PUT(self):
                hub.handle(self, "PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()

    def files(self, repo: str, branch: str = "main") -> dict[str, bytes]:
        return {p: f.data for p, f in self.repos[repo][branch].items()}

    @staticmethod
    def _sha(files: dict[str, Stored]) -> str:
        h = hashlib.sha1()
        for p in sorted(files):
            h.update(p.encode() + files[p].oid.encode())
        return h.hexdigest()

    def _files_at(self, repo: str, rev: str) -> dict[str, Stored] | None:
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
        if self.silent_commits and "/commit/" in path:
            threading.Event().wait(30)  # a server that never answers (the client's timeout must fire)
            return
        with self.lock:
            self._route(h, method, path, body, authed)

    @staticmethod
    def _is_lfs(path: str, sample: bytes) -> bool:
        return path.endswith(LFS_SUFFIXES) or b"\0" in sample

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
            gitattributes = b"".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n".encode() for s in LFS_SUFFIXES)
            self.repos[repo] = {"main": {".gitattributes": Stored(gitattributes, False)}}
            self.private[repo] = bool(req.get("private")) or req.get("visibility") == "private"
            return self._send(h, 200, {"url": f"{self.url}/datasets/{repo}", "name": repo})
        if method == "POST" and path == "/api/validate-yaml":  # checked before committing a README.md
            return self._send(h, 200, {"errors": [], "warnings": []})
        m = re.match(r"^/lfs-upload/([0-9a-f]{64})$", path)
        if m and method == "PUT":
            if hashlib.sha256(body).hexdigest() != m.group(1):
                return self._error(h, 400, "content does not match its oid")
            self.lfs_store[m.group(1)] = body
            self.lfs_uploads.append(m.group(1))
            return self._send(h, 200, {})
        m = re.match(r"^/datasets/([^/]+/[^/]+)\.git/info/lfs/objects/batch$", path)
        if m and method == "POST":
            if not authed:
                return self._error(h, 401, "Invalid credentials")
            objects = []
            for o in json.loads(body)["objects"]:
                entry = {"oid": o["oid"], "size": o["size"]}
                if o["oid"] not in self.lfs_store:
                    entry["actions"] = {"upload": {"href": f"{self.url}/lfs-upload/{o['oid']}"}}
                objects.append(entry)
            return self._send(h, 200, {"transfer": "basic", "objects": objects})
        m = re.match(
            r"^/api/datasets/([^/]+/[^/]+)(?:/(tree|preupload|commit|revision|branch|settings)(?:/(.+?))?)?$", path
        )
        if m:
            repo, verb, rest = m.groups()
            if repo not in self.repos:
                return self._error(h, 404, "Repository not found", head=method == "HEAD")
            if verb == "settings" and method == "PUT":
                if not authed:
                    return self._error(h, 401, "Invalid credentials")
                req = json.loads(body)
                if "visibility" in req:
                    self.private[repo] = req["visibility"] == "private"
                if "private" in req:
                    self.private[repo] = bool(req["private"])
                return self._send(h, 200, {})
            if verb == "branch":
                self.repos[repo].setdefault(rest, dict(self.repos[repo]["main"]))
                return self._send(h, 200, {})
            rev = (rest or "main").split("/")[0]
            files = self._files_at(repo, rev)
            if files is None:
                return self._error(h, 404, "Revision not found")
            if verb == "tree":
                return self._send(h, 200, [f.tree_entry(p) for p, f in sorted(files.items())])
            if verb in ("revision", None):
                return self._send(
                    h,
                    200,
                    {
                        "id": repo,
                        "sha": self._sha(files),
                        "private": self.private[repo],
                        "siblings": [{"rfilename": p} for p in sorted(files)],
                    },
                )
            if not authed:
                return self._error(h, 401, "Invalid credentials")
            if verb == "preupload":
                out = []
                for f in json.loads(body)["files"]:
                    lfs = self._is_lfs(f["path"], base64.b64decode(f["sample"]))
                    have = files.get(f["path"])
                    out.append(
                        {
                            "path": f["path"],
                            "uploadMode": "lfs" if lfs else "regular",
                            "shouldIgnore": False,
                            "oid": have.oid if have is not None and have.lfs == lfs else None,
                        }
                    )
                return self._send(h, 200, {"files": out})
            if verb == "commit":
                if self.fail_next_commits:
                    self.fail_next_commits -= 1
                    return self._error(h, 503, "Service unavailable")
                touched, staged = [], dict(files)
                for line in body.decode().splitlines():
                    item = json.loads(line)
                    v = item["value"]
                    if item["key"] == "file":
                        staged[v["path"]] = Stored(base64.b64decode(v["content"]), False)
                    elif item["key"] == "lfsFile":
                        if v["oid"] not in self.lfs_store:
                            return self._error(h, 400, f"LFS object {v['oid']} was never uploaded")
                        staged[v["path"]] = Stored(self.lfs_store[v["oid"]], True)
                    elif item["key"] == "deletedFile":
                        staged.pop(v["path"], None)
                        touched.append("-" + v["path"])
                        continue
                    else:
                        continue
                    touched.append(v["path"])
                files.clear()
                files.update(staged)
                self.commits.append((repo, rev, touched))
                sha = self._sha(files)
                return self._send(h, 200, {"commitUrl": f"{self.url}/datasets/{repo}/commit/{sha}", "commitOid": sha})
        m = re.match(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
        if m and method in ("GET", "HEAD"):
            repo, rev, fpath = m.groups()
            files = self._files_at(repo, rev)
            if files is None or fpath not in files:
                return self._error(h, 404, "Entry not found", head=method == "HEAD")
            f = files[fpath]
            headers = {"X-Repo-Commit": self._sha(files), "ETag": f'"{blob_sha1(f.data)}"'}
            if f.lfs:
                headers.update({"X-Linked-Etag": f'"{f.oid}"', "X-Linked-Size": str(len(f.data))})
            return self._send(h, 200, f.data, headers, head=method == "HEAD")
        return self._error(h, 404, f"not served by the fake hub: {method} {path}", head=method == "HEAD")
