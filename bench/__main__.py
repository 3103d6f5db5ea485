"""``python -m bench``."""

import atexit
import os
import sys
import threading

from bench.cli import main


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


if __name__ == "__main__":  # not again in a worker process that imports this module
    main()
    _exit()
