"""The client side of the Blender worker: find a Python with bpy, start Blender once per process, and
send it scenes. bpy pins numpy<2, which the data stack (pyarrow) cannot share, so Blender runs in its own
interpreter: SPATIALGEN_BPY_PYTHON, else ./.venv-3d/bin/python, else this one if it has bpy."""

from __future__ import annotations

import atexit
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

from spatialgen.errors import SpatialgenError

MISSING_BPY = (
    "3D rendering needs Blender's bpy module (Python 3.11): python3.11 -m venv .venv-3d && "
    ".venv-3d/bin/pip install bpy==5.0.1 (or set SPATIALGEN_BPY_PYTHON to a Python that has bpy)"
)
WORKER = Path(__file__).with_name("blender_worker.py")


def bpy_python() -> str:
    cands = [os.environ.get("SPATIALGEN_BPY_PYTHON"), str(Path.cwd() / ".venv-3d" / "bin" / "python"), sys.executable]
    for c in cands:
        if c and Path(c).exists() and _has_bpy(c):
            return c
    raise SpatialgenError(MISSING_BPY)


_checked: dict[str, bool] = {}


def _has_bpy(python: str) -> bool:
    if python not in _checked:
        r = subprocess.run(
            [python, "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('bpy') is None)"],
            capture_output=True,
        )
        _checked[python] = r.returncode == 0
    return _checked[python]


class BlenderWorker:
    def __init__(self, python: str | None = None, threads: int = 0) -> None:
        self.threads = threads
        self.proc = subprocess.Popen(
            [python or bpy_python(), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        header, _ = self._recv()
        if not header.get("ready"):
            raise SpatialgenError(f"Blender worker failed to start: {header}")
        self.version = header.get("version")

    def _recv(self) -> tuple[dict, bytes]:
        out = self.proc.stdout

        def read(n: int) -> bytes:
            buf = out.read(n)
            if buf is None or len(buf) < n:
                raise SpatialgenError("the Blender worker exited unexpectedly")
            return buf

        header = json.loads(read(struct.unpack(">I", read(4))[0]))
        payload = read(struct.unpack(">I", read(4))[0])
        return header, payload

    def render(self, scene: dict, which: str, render: dict | None = None) -> bytes:
        from spatialgen.scenes.vocab import COLORS

        # The worker imports nothing of spatialgen: colors travel as RGB.
        scene = {**scene, "objects": [{**o, "rgb": list(COLORS[o["color"]])} for o in scene["objects"]]}
        req = json.dumps(
            {"op": "render", "scene": scene, "pass": which, "render": render or {}, "threads": self.threads}
        ).encode()
        self.proc.stdin.write(struct.pack(">I", len(req)) + req)
        self.proc.stdin.flush()
        header, payload = self._recv()
        if not header.get("ok"):
            raise SpatialgenError(f"Blender: {header.get('error')}")
        return payload

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


_worker: BlenderWorker | None = None


def worker(threads: int = 0) -> BlenderWorker:
    """This process's Blender, started on first use and kept for every later scene."""
    global _worker
    if _worker is None or _worker.proc.poll() is not None:
        _worker = BlenderWorker(threads=threads)
        atexit.register(_worker.close)
    return _worker
