"""Publishing a rendered folder to the Hugging Face Hub with huggingface_hub.

Resumable by content: before uploading, the remote tree is listed and files whose git blob hash already
matches are skipped, so a push interrupted after some commits picks up where it stopped. Data goes up
in several commits of bounded size; the card, preview and manifest go last, so a half-pushed repo never
shows a card for data it does not have. Nothing on the Hub is deleted unless asked (delete_missing).
The token is read by huggingface_hub (HF_TOKEN or the login cache) and never printed.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from spatialgen.errors import SpatialgenError

from .dataset import finished

BATCH_FILES = 64
BATCH_BYTES = 512 * 2**20
LAST = ("preview.png", "manifest.json", "README.md")  # committed after the data, in this order
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


class HubError(SpatialgenError):
    """A push that cannot go ahead: token, permission, repo id, network."""


def git_blob_sha1(path: Path) -> str:
    """The id git (and the Hub's tree API) gives a file's content."""
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def plan(folder: Path, remote: dict[str, str], delete_missing: bool) -> Plan:
    p = Plan()
    files = local_files(folder)
    for rel in files:
        if remote.get(rel) == git_blob_sha1(folder / rel):
            p.unchanged.append(rel)
        else:
            p.upload.append(rel)
            p.bytes += (folder / rel).stat().st_size
    if delete_missing:
        keep = set(files) | {".gitattributes"}
        p.delete = sorted(r for r in remote if r not in keep)
    return p


def batches(folder: Path, files: list[str]) -> list[list[str]]:
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


def _retries() -> list[float]:
    return [float(x) for x in os.environ.get("SPATIALGEN_HUB_BACKOFF", "1,2,4,8").split(",") if x]


# huggingface_hub has used requests, httpx and httpx2 over its versions; their transport errors all count.
_NET_MODULES = {"requests", "urllib3", "httpx", "httpx2", "httpcore", "socket", "ssl"}


def _is_network_error(e: BaseException) -> bool:
    return isinstance(e, OSError) or any(c.__module__.split(".")[0] in _NET_MODULES for c in type(e).__mro__)


def _call(what: str, fn: Callable, repo_id: str):
    """Run a Hub call with retries on network faults and 5xx; translate the rest into one line."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    delays = _retries()
    for attempt in range(len(delays) + 1):
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
            err = f"HTTP {status}"
        except Exception as e:
            if not _is_network_error(e):
                raise
            err = type(e).__name__
        if attempt < len(delays):
            time.sleep(delays[attempt])
    raise HubError(f"{what}: network failure after {len(delays) + 1} attempts ({err}); re-run to resume")


def push(
    folder: Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    delete_missing: bool = False,
    log: Callable[[str], None] = print,
) -> Plan:
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

    token = get_token()
    if not token:
        raise HubError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = HfApi(token=token)
    _call("create repo", lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True), repo_id)
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
    remote = {t.path: t.blob_id for t in tree if hasattr(t, "size")}
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
