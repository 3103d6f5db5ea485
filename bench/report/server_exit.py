"""Preloaded by the drawing workers' fork server, and imported nowhere else: the server exits
without the interpreter's teardown.

The server holds nothing to write or close, but tearing down its pandas and matplotlib takes a
fifth of a second after the command has exited, and until then it holds the command's stdout
and stderr open: a pipe (``| tee``, a CI log, ``subprocess.run``) waits for it. Its workers exit
through ``os._exit`` already (``multiprocessing.forkserver``), never through these handlers.
"""

import atexit
import os

atexit.register(os._exit, 0)
