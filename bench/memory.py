"""Peak memory of a process tree, sampled from /proc: the sum of PSS (proportional set size), which
counts pages shared by forked workers once, unlike summing RSS."""

from __future__ import annotations

import os
import threading
import time


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def tree_pss_kib(root: int) -> int:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _pss_kib(pid)
        stack += _children(pid)
    return total


class PeakMemory:
    """``with PeakMemory() as m: ...``; then ``m.peak_mib``."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak_kib, self._stop = interval, 0, threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, tree_pss_kib(os.getpid()))
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.peak_kib = max(self.peak_kib, tree_pss_kib(os.getpid()))

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024
