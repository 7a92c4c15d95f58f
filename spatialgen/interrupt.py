"""Ctrl-C: noticed however a library reports it, and ended with exit code 130 however Python was started.

Two ways a handled Ctrl-C used to end otherwise (the first seen on a development machine, the second on CI;
both depend on the moment the signal comes):
- A SIGINT that lands inside a library's import can come out as another error: transformers' lazy modules
  turn any failed import into ``ModuleNotFoundError``. So the CLI remembers that a SIGINT arrived (``watch``)
  and trusts that over the exception's type.
- Under ``python -m``, CPython ends the process by killing itself with SIGINT (a caller sees -2, not 130)
  when a KeyboardInterrupt ever left code run by ``exec(str)``, even one caught later (CPython's
  ``run_eval_code_obj`` sets a flag that ``Py_RunMain`` reads after finalizing). scipy's array-API shim
  imports numpy through ``exec``, so a Ctrl-C during that import marks the run. ``exit_interrupted`` ends
  such a run itself.
And a Ctrl-C right after Enter, while the CLI's own modules load, was a traceback: the process entry
(``spatialgen.__main__.run``) watches those imports too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

INTERRUPTED = "interrupted; re-run the same command to resume"


class Watch:
    """Whether a SIGINT arrived while the watch was on."""

    def __init__(self) -> None:
        self.seen = False


@contextmanager
def watch() -> Iterator[Watch]:
    """Note each SIGINT while still raising KeyboardInterrupt, as Python's own handler does.

    Nested watches share the outer one (the process entry watches its imports, then ``cli.main`` its run).
    Only the main thread can set a handler, and a handler someone else installed (a notebook's, a test
    runner's) is left in place: then ``seen`` stays False and the exception's type decides, as before.
    """
    current = signal.getsignal(signal.SIGINT)
    outer = getattr(current, "watch", None)
    if isinstance(outer, Watch):
        yield outer
        return
    w = Watch()
    mine = threading.current_thread() is threading.main_thread() and current is signal.default_int_handler

    def on_sigint(signum: int, frame: object) -> None:
        w.seen = True
        raise KeyboardInterrupt

    on_sigint.watch = w  # type: ignore[attr-defined]
    if mine:
        signal.signal(signal.SIGINT, on_sigint)
    try:
        yield w
    finally:
        if mine:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def exit_interrupted() -> NoReturn:
    """End the process with exit code 130 after a Ctrl-C was handled.

    What interpreter shutdown would do for us is done here: the exit handlers run (a Blender worker is
    closed, a pool's processes are joined) and the standard streams are flushed; then ``os._exit(130)``,
    so that no flag CPython kept from the interrupt can turn the exit into death by SIGINT. Everything the
    run wrote is already closed by then: the interrupt unwound every ``with`` block on its way out.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut the cleanup short
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing left to save
            stream.flush()
    os._exit(130)
