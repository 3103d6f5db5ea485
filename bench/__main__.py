"""``python -m bench``."""

import atexit
import os
import sys
import threading
from contextlib import nullcontext


def _exit() -> None:
    """Exit with status 0 now that the job is done: its threads joined, the atexit handlers run
    and the output flushed, without the interpreter's teardown, which frees torch's, pandas' and
    Optuna's objects one by one (about a second) and writes nothing: the job closed its storage."""
    # What the interpreter's exit runs before its teardown, in its order: the threads' exit
    # hooks (loky's executor, under Hydra's joblib launcher), the wait for non-daemon threads,
    # then the atexit handlers (logging's flush, multiprocessing's clean-up).
    threading._shutdown()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe (``| head``): the status Python's own exit gives
        os._exit(120)
    os._exit(0)


def _run() -> None:
    """Start the report's drawing processes (where the command draws one), then the command."""
    from bench.argv import draws_a_report

    drawing = nullcontext()
    if draws_a_report(sys.argv[1:]):
        # Before Hydra, torch and Optuna are imported here: the fork server's own imports
        # (pandas, matplotlib and the figures, over a second) run on another core meanwhile.
        from bench.report.drawing import Workers

        drawing = Workers()
    with drawing as workers:
        from bench.cli import main

        main(workers)


if __name__ == "__main__":  # not in a worker process that imports this module
    _run()
    _exit()
