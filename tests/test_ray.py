"""The Ray executor on a real local cluster started by each run (2 CPUs): byte-identical to the local
executor, through a worker killed mid-run and a driver killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

from spatialgen.generator.manifest import read_manifest
from spatialgen.generator.run import render_run

from .conftest import folder_digest, make_spec

N = 1600  # 8 shards of 200 scenes: long enough to interrupt


def render_cmd(out: Path, n: int = N) -> list[str]:
    return [
        sys.executable,
        "-m",
        "spatialgen",
        "render",
        "--n",
        str(n),
        "--seed",
        "7",
        "--out",
        str(out),
        "--executor",
        "ray",
        "--workers",
        "2",
        "-q",
    ]


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory):
    from spatialgen.generator.card import write_card

    out = tmp_path_factory.mktemp("local") / "ds"
    from spatialgen.generator.manifest import RunSpec, default_shard_size
    from spatialgen.scenes.config import load_preset

    p = load_preset("medium")
    spec = RunSpec(n=N, seed=7, preset="medium", level=p.level, scenes_per_shard=default_shard_size(N), config=p.config)
    render_run(out, spec, workers=2, finish=write_card)
    return folder_digest(out)


def _ray_workers_running_render() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if cmd.startswith(b"ray::_render"):
                pids.append(int(d.name))
    return pids


def test_ray_run_equals_local_run(tmp_path, local_reference):
    r = subprocess.run(render_cmd(tmp_path / "ray"), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert folder_digest(tmp_path / "ray") == local_reference


@pytest.mark.slow
def test_worker_killed_mid_run_still_yields_identical_dataset(tmp_path, local_reference):
    proc = subprocess.Popen(render_cmd(tmp_path / "ray"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = None
    deadline = time.time() + 120
    while killed is None and time.time() < deadline and proc.poll() is None:
        pids = _ray_workers_running_render()
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            killed = pids[0]
        time.sleep(0.01)
    _, err = proc.communicate(timeout=300)
    assert killed is not None, "no Ray worker was seen rendering"
    assert proc.returncode == 0, err.decode()
    assert folder_digest(tmp_path / "ray") == local_reference


@pytest.mark.slow
def test_driver_killed_mid_run_resumes_to_identical_dataset(tmp_path, local_reference):
    out = tmp_path / "ray"
    proc = subprocess.Popen(
        render_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        m = read_manifest(out) if (out / "manifest.json").exists() else None
        if m is not None and len(m.done) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the cluster it started
    proc.wait()
    m = read_manifest(out)
    assert 2 <= len(m.done) < 8 and not m.complete
    r = subprocess.run(render_cmd(out), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert folder_digest(out) == local_reference


def test_object_store_output_is_identical(tmp_path):
    """fsspec URLs: each file is written with one atomic PUT (memory:// stands in for s3:// here)."""
    import fsspec

    spec = make_spec(n=24)
    render_run(tmp_path / "local", spec, workers=1)
    render_run("memory://spatialgen-test/ds", spec, workers=1)
    fs = fsspec.filesystem("memory")
    remote = {p.split("/ds/", 1)[1]: fs.cat_file(p) for p in fs.find("/spatialgen-test/ds")}
    local = {
        str(p.relative_to(tmp_path / "local")): p.read_bytes() for p in (tmp_path / "local").rglob("*") if p.is_file()
    }
    assert remote == local


def test_3d_gpu_tasks_ask_ray_for_a_gpu(monkeypatch, tmp_path):
    from spatialgen.generator import ray_executor, run
    from spatialgen.generator.manifest import RunSpec
    from spatialgen.scenes.config import load_preset

    seen = {}
    monkeypatch.setattr(ray_executor, "run_ray", lambda *a, **k: seen.setdefault("gpus", a[7]))
    monkeypatch.setattr(run, "preflight", lambda spec: None)
    cfg = load_preset("3d").config
    for device, want in (("gpu", 1), ("cpu", 0)):
        seen.clear()
        c = cfg.model_copy(update={"render": cfg.render.model_copy(update={"device": device})})
        spec = RunSpec(n=1, seed=0, preset="3d", level=2, scenes_per_shard=1, config=c)
        run.render_run(tmp_path / device, spec, 1, executor="ray", finish=lambda *a: None)
        assert seen["gpus"] == want
