"""The client side of the Blender worker: find a Python with bpy, start Blender once per process, and
send it scenes. bpy pins numpy<2, which the data stack (pyarrow) cannot share, so Blender runs in its own
interpreter, found wherever the command is run from: SPATIALGEN_BPY_PYTHON; else the venv that
``spatialgen setup-3d`` makes (``$SPATIALGEN_HOME/venv-3d``, by default ``~/.local/share/spatialgen/venv-3d``);
else a source checkout's ``.venv-3d`` (what ``make test`` makes); else this interpreter if it has bpy."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from spatialgen.errors import SpatialgenError

MISSING_BPY = (
    "3D rendering needs Blender's bpy module (Python 3.11): run `spatialgen setup-3d` "
    "(or set SPATIALGEN_BPY_PYTHON to a Python that has bpy==5.0.1)"
)
WORKER = Path(__file__).with_name("blender_worker.py")
BPY_VERSION = "5.0.1"


def home() -> Path:
    """spatialgen's data folder: SPATIALGEN_HOME, else $XDG_DATA_HOME/spatialgen, else ~/.local/share/spatialgen."""
    if os.environ.get("SPATIALGEN_HOME"):
        return Path(os.environ["SPATIALGEN_HOME"])
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "spatialgen"


def default_venv_3d() -> Path:
    """The venv ``spatialgen setup-3d`` installs bpy into (``venv-3d`` in spatialgen's data folder, ``home()``)."""
    return home() / "venv-3d"


def candidates() -> list[str]:
    """Python interpreters that may have bpy, in the order they are tried."""
    checkout = Path(__file__).resolve().parents[2] / ".venv-3d"  # a source checkout (make test)
    return [
        c
        for c in (
            os.environ.get("SPATIALGEN_BPY_PYTHON"),
            str(default_venv_3d() / "bin" / "python"),
            str(checkout / "bin" / "python"),
            sys.executable,
        )
        if c
    ]


def bpy_python() -> str:
    """The first interpreter that imports bpy; none is one SpatialgenError saying how to install it."""
    named = os.environ.get("SPATIALGEN_BPY_PYTHON")
    if named:  # an explicit choice is used or refused, never silently replaced
        if Path(named).exists() and _has_bpy(named):
            return named
        raise SpatialgenError(f"SPATIALGEN_BPY_PYTHON={named} is not a Python with bpy. " + MISSING_BPY)
    for c in candidates():
        if Path(c).exists() and _has_bpy(c):
            return c
    raise SpatialgenError(MISSING_BPY)


def setup_3d(python: str, log=print) -> Path:
    """Create the default Blender venv with ``python`` (a 3.11 interpreter) and install bpy into it."""
    target = default_venv_3d()
    steps = [[python, "-m", "venv", str(target)], [str(target / "bin" / "pip"), "install", "-q", f"bpy=={BPY_VERSION}"]]
    for cmd in steps:
        log(" ".join(cmd))
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            raise SpatialgenError(f"cannot run {cmd[0]}: {e.strerror or e}") from None
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["failed"])[-1]
            raise SpatialgenError(f"{' '.join(cmd[:3])}: {last[:200]}")
    _checked.clear()
    return target / "bin" / "python"


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
        # Blender renders to files: a scratch folder that this side owns and removes on close, so
        # a worker that dies (or is killed) leaves nothing behind in /tmp once its client closes.
        self.tmp = tempfile.mkdtemp(prefix="spatialgen-blender-")
        self.proc = subprocess.Popen(
            [python or bpy_python(), str(WORKER), self.tmp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            header, _ = self._recv()
            if not header.get("ready"):
                raise SpatialgenError(f"Blender worker failed to start: {header}")
        except BaseException:
            self.close()
            raise
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
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


_worker: BlenderWorker | None = None


def worker(threads: int = 0) -> BlenderWorker:
    """This process's Blender, started on first use and kept for every later scene."""
    global _worker
    if _worker is None or _worker.proc.poll() is not None:
        _worker = BlenderWorker(threads=threads)
        atexit.register(_worker.close)
    return _worker
