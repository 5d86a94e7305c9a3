"""A busy neighbour for benchmarks: another program keeping one core busy while a block runs."""

import subprocess
import sys
import time
from contextlib import contextmanager


@contextmanager
def busy_neighbour(on: bool = True):
    """Starts `python -c "while True: pass"` for as long as the block runs, and always stops it."""
    if not on:
        yield
        return
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it take its core
        yield
    finally:
        neighbour.kill()
        neighbour.wait()
