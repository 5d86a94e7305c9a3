"""One grading run per course at a time. Two runs at once delete each other's scratch folders
(nbgrader clears autograded/<student>/<lesson>/ before it grades there) and give silently wrong
grades, so a run holds `.grading.lock` in the course folder for as long as it grades.

The lock is an flock(2) on that file: Linux drops it when its holder dies, however it dies, so a
lock left by a crash is taken over without asking. The file says who holds it, for the sentence a
second run prints. `make grade`'s own workers run inside the holder's run (RUN_ENV_VAR); nbgrader's
own autograde (its command, the Formgrader's button) holds the lock while it runs: nbgrader_config.py
calls `hold_during_nbgrader_autograde()`.

Standard library only (nbgrader_config.py loads it by path: no nbgrader command imports torch).
"""

import fcntl
import json
import os
import socket
import time
from pathlib import Path

LOCK_FILE = ".grading.lock"
RUN_ENV_VAR = "BACKPROP_NINJA_GRADING_RUN"  # set for make grade's workers: the run's pid


class Busy(Exception):
    """Another run grades this course."""


class RunLock:
    def __init__(self, course: Path, what: str):
        self.path, self.what, self._fd = Path(course) / LOCK_FILE, what, None

    def acquire(self) -> "RunLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise Busy(f"Another grading run is grading this course: {_describe(holder)}. Wait for it to finish, "
                       "or stop it (Ctrl-C in its terminal, or kill its pid), then grade again.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                                  "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def inside_a_run() -> bool:
    """True in make grade's workers, whose run already holds the lock."""
    return bool(os.environ.get(RUN_ENV_VAR))


def _read(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}


def _describe(holder: dict) -> str:
    if not holder:
        return "it is starting"
    return f"{holder.get('what', 'a run')} (pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')})"


def hold_during_nbgrader_autograde() -> None:
    """nbgrader's Autograde converter holds the lock of its course for the whole of its run, or stops
    before it touches anything (it clears autograded/<student>/<lesson>/ first) when another run holds
    it. make grade's workers, inside their run, do not take it again."""
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException

    if getattr(Autograde.start, "holds_the_grading_lock", False):
        return
    start = Autograde.start

    def locked_start(self) -> None:
        if inside_a_run():
            return start(self)
        try:
            lock = RunLock(Path(self.coursedir.root), "nbgrader autograde").acquire()
        except Busy as busy:
            self.log.error(str(busy))
            raise NbGraderException(str(busy)) from None
        try:
            return start(self)
        finally:
            lock.release()

    locked_start.holds_the_grading_lock = True
    Autograde.start = locked_start
