"""make grade's worker processes: each grades one submission at a time. A worker that dies, or runs
past a submission's time (nbgrader's own bookkeeping included), is killed and replaced, and costs
that one submission a `not graded` row; the others go on. (concurrent.futures' process pool fails
every submission at once when one worker dies, and cannot stop one that hangs.)

    main process  --(task)-->  worker: the initializer once, then function(*task) per task
                  <-(result)-
"""

import ctypes
import multiprocessing
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait

_PR_SET_PDEATHSIG = 1


class Lost(Exception):
    """A task whose worker died or ran out of time: `reason` is the sentence for grades.csv."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _serve(conn, initializer, initargs, function) -> None:
    """A worker's life: ignore Ctrl-C (the main process stops the run), die with the main process,
    set up once, then answer tasks until told to stop (None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the main process died before the line above
        os._exit(1)
    initializer(*initargs)
    while (task := conn.recv()) is not None:
        try:
            conn.send(("done", function(*task)))
        except Exception as error:  # a fault of the grader's on this one submission
            conn.send(("failed", f"{type(error).__name__}: {error}"))


@dataclass
class _Worker:
    process: multiprocessing.Process
    conn: object
    task: tuple | None = None
    started: float = 0.0
    budget: float = 0.0


@dataclass
class Pool:
    jobs: int
    initializer: object
    initargs: tuple
    function: object
    on_lost: object = None  # on_lost(pid): clean up after a killed worker (its kernels)
    workers: list = field(default_factory=list)

    def _start(self) -> _Worker:
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, self.initializer, self.initargs, self.function))
        process.start()
        theirs.close()
        return _Worker(process, mine)

    def _lose(self, worker: _Worker, reason: str):
        task = worker.task
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.conn.close()
        if self.on_lost is not None:
            self.on_lost(worker.process.pid)
        self.workers.remove(worker)
        return task, Lost(reason)

    def run(self, tasks, budget):
        """Yield (task, result or Lost) as tasks finish; `budget(task)` is a task's seconds."""
        todo = deque(tasks)
        while todo or any(w.task is not None for w in self.workers):
            while todo and len(self.workers) < self.jobs:
                self.workers.append(self._start())
            for worker in self.workers:
                if todo and worker.task is None:
                    worker.task, worker.started = todo.popleft(), time.monotonic()
                    worker.budget = budget(worker.task)
                    try:
                        worker.conn.send(worker.task)
                    except OSError:  # it died: its sentinel says so below, and the task is its
                        pass
            busy = [w for w in self.workers if w.task is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
            for worker in busy:
                if worker.conn in ready:
                    try:
                        kind, value = worker.conn.recv()
                    except (EOFError, OSError):
                        yield self._lose(worker, self._death(worker))
                        continue
                    task, worker.task = worker.task, None
                    yield task, (value if kind == "done" else Lost(f"the grader failed on it ({value})"))
                elif worker.process.sentinel in ready:
                    yield self._lose(worker, self._death(worker))
                elif time.monotonic() - worker.started > worker.budget:
                    yield self._lose(worker, f"its grading took longer than {worker.budget:.0f} s (nbgrader's "
                                             "own work on it included), so it was stopped")

    @staticmethod
    def _death(worker: _Worker) -> str:
        worker.process.join(1)
        code = worker.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return f"the process grading it died ({how})"

    def stop(self) -> None:
        """Kill every worker now, whatever it is grading."""
        for worker in list(self.workers):
            worker.task = None
            self._lose(worker, "")

    def close(self) -> None:
        """Let idle workers finish (no task is running)."""
        for worker in list(self.workers):
            try:
                worker.conn.send(None)
            except OSError:
                pass
            worker.process.join(10)
            self._lose(worker, "")
