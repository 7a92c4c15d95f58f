"""Publishing a rendered folder to the Hugging Face Hub, through huggingface_hub's own commit path.

huggingface_hub does the uploading: it asks the Hub which files go to LFS (every parquet and image does),
uploads LFS objects the Hub does not already hold, and drops files whose content the Hub already has. We
only plan and report: the remote tree is listed and each local file compared the way the Hub stores it
(the SHA-256 of the content for LFS files, whose tree ``blob_id`` is the pointer's; the git blob id for the
rest), so a resumed push uploads nothing that is already there. Data goes up in commits of bounded size;
the card, preview and manifest go last, so a half-pushed repo never shows a card for data it does not have.
Nothing on the Hub is deleted unless asked (delete_missing). One retry policy (the library's), a request
timeout (SPATIALGEN_HUB_TIMEOUT seconds, default 120) so a silent server cannot hang a push, and one line
on failure. The token is read by huggingface_hub (HF_TOKEN or the login cache) and never printed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from spatialgen.errors import SpatialgenError

from .folder import finished

BATCH_FILES = 256
BATCH_BYTES = 4 * 2**30
LAST = ("preview.png", "manifest.json", "README.md")  # committed after the data, in this order
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


class HubError(SpatialgenError):
    """A push that cannot go ahead: token, permission, repo id, network."""


def _digest(path: Path, h) -> str:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_blob_sha1(path: Path) -> str:
    """The id git (and the Hub's tree API, for files not in LFS) gives a file's content."""
    return _digest(path, hashlib.sha1(f"blob {path.stat().st_size}\0".encode()))


def sha256(path: Path) -> str:
    """The LFS object id of a file (what the Hub's tree reports as ``lfs.oid``)."""
    return _digest(path, hashlib.sha256())


@dataclass(frozen=True)
class Remote:
    """A file on the Hub as its tree lists it: the git blob id, and the LFS object id if it is in LFS."""

    blob_id: str
    lfs_sha256: str | None = None


def same_content(path: Path, remote: Remote) -> bool:
    """Whether a local file equals the Hub's copy (its LFS sha256, or its git blob hash)."""
    if remote.lfs_sha256 is not None:
        return sha256(path) == remote.lfs_sha256
    return git_blob_sha1(path) == remote.blob_id


def local_files(folder: Path) -> list[str]:
    """What a push publishes: the card, preview, manifest and data shards (no temporaries)."""
    out = [p.relative_to(folder).as_posix() for p in sorted((folder / "data").glob("*.parquet"))]
    out += [name for name in LAST if (folder / name).exists()]
    return out


@dataclass
class Plan:
    upload: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    bytes: int = 0


def plan(folder: Path, remote: dict[str, Remote], delete_missing: bool) -> Plan:
    """What a push uploads, keeps and (with ``delete_missing``) deletes, against the repo's current files."""
    p = Plan()
    files = local_files(folder)
    for rel in files:
        if rel in remote and same_content(folder / rel, remote[rel]):
            p.unchanged.append(rel)
        else:
            p.upload.append(rel)
            p.bytes += (folder / rel).stat().st_size
    if delete_missing:
        keep = set(files) | {".gitattributes"}
        p.delete = sorted(r for r in remote if r not in keep)
    return p


def batches(folder: Path, files: list[str]) -> list[list[str]]:
    """The files to upload grouped into commits of bounded size; preview, manifest and card go after the data."""
    data = [f for f in files if f not in LAST]
    out: list[list[str]] = []
    cur: list[str] = []
    size = 0
    for f in data:
        s = (folder / f).stat().st_size
        if cur and (len(cur) >= BATCH_FILES or size + s > BATCH_BYTES):
            out.append(cur)
            cur, size = [], 0
        cur.append(f)
        size += s
    if cur:
        out.append(cur)
    last = [f for f in LAST if f in files]
    if last:
        out.append(last)
    return out


def _timeout() -> float:
    raw = os.environ.get("SPATIALGEN_HUB_TIMEOUT", "120")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 86_400:  # nan, inf, 0 and negatives all fail this
        raise HubError("SPATIALGEN_HUB_TIMEOUT must be a number of seconds, above 0 and at most 86400")
    return seconds


def _use_timeout(seconds: float) -> None:
    """huggingface_hub's HTTP client waits forever by default; give every request a deadline."""
    from huggingface_hub.utils import _http

    def factory():
        client = _http.default_client_factory()
        client.timeout = seconds
        return client

    _http.set_client_factory(factory)


# huggingface_hub has used requests, httpx and httpx2 over its versions; their transport errors all count.
_NET_MODULES = {"requests", "urllib3", "httpx", "httpx2", "httpcore", "socket", "ssl"}


def _is_network_error(e: BaseException) -> bool:
    return isinstance(e, OSError) or any(c.__module__.split(".")[0] in _NET_MODULES for c in type(e).__mro__)


def _call(what: str, fn: Callable, repo_id: str):
    """Run one Hub call (huggingface_hub retries transient faults itself); any failure is one line."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        return fn()
    except RepositoryNotFoundError:
        raise HubError(f"{what}: dataset repo {repo_id} not found, or the token cannot see it") from None
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else None
        if status == 401:
            raise HubError(f"{what}: the Hugging Face token was rejected (401); log in again") from None
        if status == 403:
            raise HubError(f"{what}: no permission to write to {repo_id} (403)") from None
        if status is not None and status < 500:
            raise HubError(f"{what}: the Hub refused the request ({status})") from None
        raise HubError(f"{what}: the Hub failed (HTTP {status}); re-run to resume") from None
    except Exception as e:
        if not _is_network_error(e):
            raise
        raise HubError(f"{what}: network failure ({type(e).__name__}); re-run to resume") from None


def _visibility(api, repo_id: str, private: bool, log: Callable[[str], None]) -> None:
    """``--private`` on an existing public repo makes it private (and says so); a private repo stays private."""
    info = _call("read repo settings", lambda: api.repo_info(repo_id, repo_type="dataset"), repo_id)
    if private and not info.private:
        _call(
            "make repo private",
            lambda: api.update_repo_settings(repo_id, private=True, repo_type="dataset"),
            repo_id,
        )
        log(f"datasets/{repo_id} was public: made it private")
    elif not private and info.private:
        log(f"datasets/{repo_id} is private and stays private")


def push(
    folder: Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    delete_missing: bool = False,
    log: Callable[[str], None] = print,
    on_commit: Callable[[int, int], None] = lambda k, n: None,
) -> Plan:
    """Publish a finished render folder to a Hub dataset repo (resumable; only changed files upload)."""
    finished(folder)
    if not REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id:
        raise HubError(f"repo id '{repo_id}' is malformed; expected USER/NAME (letters, digits, '-', '_', '.')")
    files = local_files(folder)
    if dry_run:
        total = sum((folder / f).stat().st_size for f in files)
        for f in files:
            log(f"would upload {f} ({(folder / f).stat().st_size:,} bytes)")
        log(
            f"dry run: {len(files)} files, {total / 2**20:.1f} MiB to datasets/{repo_id}"
            f"@{revision or 'main'}; nothing sent"
        )
        return Plan(upload=files, bytes=total)

    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, get_token
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # the CLI shows one bar over the commits instead of one per file
    _use_timeout(_timeout())
    token = get_token()
    if not token:
        raise HubError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = HfApi(token=token)
    _call("create repo", lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True), repo_id)
    _visibility(api, repo_id, private, log)
    if revision:
        _call(
            "create branch",
            lambda: api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True),
            repo_id,
        )
    rev = revision or "main"
    tree = _call(
        "list remote files",
        lambda: list(api.list_repo_tree(repo_id, repo_type="dataset", revision=rev, recursive=True)),
        repo_id,
    )
    remote = {
        t.path: Remote(t.blob_id, t.lfs.sha256 if getattr(t, "lfs", None) else None) for t in tree if hasattr(t, "size")
    }
    p = plan(folder, remote, delete_missing)
    groups = batches(folder, p.upload)
    for k, group in enumerate(groups):
        ops = [CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(folder / f)) for f in group]
        if k == len(groups) - 1:
            ops += [CommitOperationDelete(path_in_repo=f) for f in p.delete]
        _call(
            f"commit {k + 1}/{len(groups)}",
            lambda ops=ops, k=k: api.create_commit(
                repo_id,
                ops,
                repo_type="dataset",
                revision=rev,
                commit_message=f"spatialgen push ({k + 1}/{len(groups)})",
            ),
            repo_id,
        )
        log(f"commit {k + 1}/{len(groups)}: {len(group)} files")
        on_commit(k + 1, len(groups))
    if p.delete and not groups:
        _call(
            "delete",
            lambda: api.create_commit(
                repo_id,
                [CommitOperationDelete(path_in_repo=f) for f in p.delete],
                repo_type="dataset",
                revision=rev,
                commit_message="spatialgen push: delete missing",
            ),
            repo_id,
        )
    from huggingface_hub import constants

    log(
        f"pushed {len(p.upload)} files ({p.bytes / 2**20:.1f} MiB), {len(p.unchanged)} already there, "
        f"{len(p.delete)} deleted: {constants.ENDPOINT}/datasets/{repo_id}"
    )
    return p
