"""Pushing to the Hub, tested against a loopback server that speaks the Hub API huggingface_hub uses,
LFS included (tests/hubserver.py says which of the Hub's answers it reproduces)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import folder_digest
from .hubserver import FakeHub

TOKEN = "hf_testtoken_0123456789abcdef"


@pytest.fixture
def hub():
    h = FakeHub(TOKEN)
    yield h
    h.close()


def run(args: list[str], hub: FakeHub, token: str | None = TOKEN, tmp: Path | None = None, code: str | None = None):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(HF_ENDPOINT=hub.url, SPATIALGEN_HUB_TIMEOUT="5", HF_HUB_DISABLE_XET="1")
    if tmp is not None:
        env["HF_HOME"] = str(tmp / "hf-home")
    if token:
        env["HF_TOKEN"] = token
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "spatialgen", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


DOWNLOAD_AND_LOAD = """
import json, sys
from huggingface_hub import snapshot_download
from datasets import load_dataset
path = snapshot_download(sys.argv[1], repo_type="dataset", revision=sys.argv[2], cache_dir=sys.argv[3])
ds = load_dataset(path)
print(json.dumps({s: sorted((r["id"], json.dumps(r["questions"], sort_keys=True)) for r in d.remove_columns("image"))
                  for s, d in ds.items()}))
"""


def local_rows(folder: Path) -> dict:
    from spatialgen.generator.folder import iter_rows

    out: dict = {}
    for r in iter_rows(folder, columns=["id", "split", "questions"]):
        out.setdefault(r["split"], []).append([r["id"], json.dumps(r["questions"], sort_keys=True)])
    return {s: sorted(v) for s, v in out.items()}


def test_push_download_and_load_equal_local_rows(rendered, hub, tmp_path):
    r = run(["push", str(rendered), "--repo-id", "alice/shapes"], hub, tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    assert TOKEN not in r.stdout + r.stderr
    files = hub.files("alice/shapes")
    assert {"README.md", "manifest.json", "preview.png"} <= set(files)
    stored = hub.repos["alice/shapes"]["main"]
    assert all(stored[p].lfs for p in files if p.endswith((".parquet", ".png")))  # as the Hub stores them
    assert TOKEN.encode() not in files["README.md"]
    # Data first, card last.
    assert hub.commits[-1][2][-1] == "README.md"
    r = run(["alice/shapes", "main", str(tmp_path / "dl")], hub, tmp=tmp_path, code=DOWNLOAD_AND_LOAD)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == local_rows(rendered)


def test_second_push_uploads_nothing_and_deletes_nothing(rendered, hub, tmp_path):
    from .hubserver import Stored

    assert run(["push", str(rendered), "--repo-id", "alice/shapes"], hub, tmp=tmp_path).returncode == 0
    hub.repos["alice/shapes"]["main"]["notes.txt"] = Stored(b"kept", False)
    n, uploads = len(hub.commits), len(hub.lfs_uploads)
    r = run(["push", str(rendered), "--repo-id", "alice/shapes"], hub, tmp=tmp_path)
    assert r.returncode == 0 and "pushed 0 files" in r.stdout and len(hub.commits) == n, r.stdout + r.stderr
    assert len(hub.lfs_uploads) == uploads  # the tree's blob_id of an LFS file is its pointer's: compared by sha256
    assert "notes.txt" in hub.repos["alice/shapes"]["main"]
    r = run(["push", str(rendered), "--repo-id", "alice/shapes", "--delete-missing"], hub, tmp=tmp_path)
    assert r.returncode == 0 and "1 deleted" in r.stdout
    assert "notes.txt" not in hub.repos["alice/shapes"]["main"]


def test_interrupted_push_resumes(rendered, hub, tmp_path):
    # Two files a commit, and the third commit fails (huggingface_hub does not retry a commit): the push stops.
    code = """
import sys
from spatialgen.generator import hub
hub.BATCH_FILES = 2
from spatialgen.cli import main
sys.exit(main(sys.argv[1:]))
"""
    original, calls = hub._route, {"n": 0}

    def flaky(h, method, path, body, authed):
        if "/commit/" in path:
            calls["n"] += 1
            if calls["n"] == 3:
                hub.fail_next_commits = 1
        return original(h, method, path, body, authed)

    hub._route = flaky
    r = run(["push", str(rendered), "--repo-id", "alice/shapes"], hub, tmp=tmp_path, code=code)
    assert r.returncode == 2 and "HTTP 503" in r.stderr and "re-run to resume" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    partial = {p for p in hub.files("alice/shapes") if p != ".gitattributes"}
    assert len(partial) == 4 and "README.md" not in partial
    uploaded = set(hub.lfs_uploads)  # includes the objects of the commit that failed
    hub._route = original
    r = run(["push", str(rendered), "--repo-id", "alice/shapes"], hub, tmp=tmp_path, code=code)
    assert r.returncode == 0, r.stderr
    assert "4 already there" in r.stdout
    assert len(hub.lfs_uploads) == len(set(hub.lfs_uploads)) and uploaded <= set(hub.lfs_uploads)  # none twice
    want = {p: (rendered / p).read_bytes() for p in folder_digest(rendered) if p.startswith("data/")}
    got = {p: b for p, b in hub.files("alice/shapes").items() if p.startswith("data/")}
    assert got == want and "README.md" in hub.files("alice/shapes")


def test_dry_run_sends_nothing(rendered, hub, tmp_path):
    r = run(["push", str(rendered), "--repo-id", "alice/shapes", "--dry-run"], hub, token=None, tmp=tmp_path)
    assert r.returncode == 0 and "dry run:" in r.stdout and "MiB" in r.stdout
    assert hub.requests == []


@pytest.mark.parametrize(
    ("args", "token", "message"),
    [
        (["--repo-id", "alice/shapes"], None, "no Hugging Face token"),
        (["--repo-id", "alice/shapes"], "hf_wrong", "token was rejected"),
        (["--repo-id", "bob/shapes"], TOKEN, "no permission to write to bob/shapes"),
        (["--repo-id", "not a repo"], TOKEN, "is malformed"),
        (["--repo-id", "a/b/c"], TOKEN, "is malformed"),
    ],
)
def test_push_errors(rendered, hub, tmp_path, args, token, message):
    r = run(["push", str(rendered), *args], hub, token=token, tmp=tmp_path)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    if token:
        assert token not in r.stderr + r.stdout


def test_network_failure_is_one_line(rendered, tmp_path):
    dead = FakeHub(TOKEN)
    dead.close()
    dead.server.server_close()
    r = run(["push", str(rendered), "--repo-id", "alice/shapes"], dead, tmp=tmp_path)
    assert r.returncode == 2 and "network failure" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unfinished_folder_is_refused(tmp_path, hub):
    r = run(["push", str(tmp_path), "--repo-id", "alice/shapes"], hub, tmp=tmp_path)
    assert r.returncode == 2 and "not a spatialgen render folder" in r.stderr


def test_private_on_a_public_repo_makes_it_private(rendered, hub, tmp_path):
    assert run(["push", str(rendered), "--repo-id", "alice/shapes"], hub, tmp=tmp_path).returncode == 0
    assert hub.private["alice/shapes"] is False
    r = run(["push", str(rendered), "--repo-id", "alice/shapes", "--private"], hub, tmp=tmp_path)
    assert r.returncode == 0 and "made it private" in r.stdout, r.stdout + r.stderr
    assert hub.private["alice/shapes"] is True
    r = run(["push", str(rendered), "--repo-id", "alice/shapes"], hub, tmp=tmp_path)
    assert "stays private" in r.stdout and hub.private["alice/shapes"] is True


def test_a_silent_server_times_out_in_one_line(rendered, hub, tmp_path):
    import time

    hub.silent_commits = True
    start = time.monotonic()
    r = run(["push", str(rendered), "--repo-id", "alice/shapes"], hub, tmp=tmp_path)
    assert r.returncode == 2 and "re-run to resume" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and time.monotonic() - start < 30
