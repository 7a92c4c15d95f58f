"""The process entry point: the ``spatialgen`` console script and ``python -m spatialgen``."""

import sys
from typing import NoReturn

from . import interrupt


def run() -> NoReturn:
    """Run the CLI as a process: a Ctrl-C at any moment, the CLI's own imports included, ends in 130 and one
    line (``cli.main`` handles the run itself; this adds the imports and the process's exit, see interrupt.py).
    """
    with interrupt.watch() as ctrl_c:
        try:
            from .cli import main

            rc = main()
        except BaseException:
            if not ctrl_c.seen:
                raise
            print(interrupt.INTERRUPTED, file=sys.stderr)
            rc = 130
    if rc == 130:
        interrupt.exit_interrupted()
    sys.exit(rc)


if __name__ == "__main__":
    run()
