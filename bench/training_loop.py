"""`make bench`, second part: Exercise 4's training loop in steps per second, beside a busy neighbour.

The loop is the lesson's own (`training.TrainingStep` with the solution's backward, under
`torch.inference_mode()`), run three ways:
- compiled, 1 thread: the lesson in full mode, as a learner's kernel runs it;
- plain, 1 thread: fast mode, grading, or a machine without a C++ compiler;
- plain, PyTorch's default threads: what a kernel ran before the checker chose one thread.
torch.compile starts with an empty cache, as on a learner's first run. Each runs quiet and beside
a neighbour: a process this benchmark starts, which keeps one core busy (`while True: pass`), and
stops. Figures are steps per second, the best of three timed stretches; the last lines are for
tools, and `neighbour_over_quiet` is the slowdown of the lesson's loop.
"""

import datetime
import os
import sys
import tempfile
import time

os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="backprop-ninja-inductor-")  # a cold compile

import torch  # noqa: E402

DEFAULT_THREADS = torch.get_num_threads()  # read before the checker sets one thread

from checker.lessons import makemore, training  # noqa: E402

from measured import record  # noqa: E402
from neighbour import busy_neighbour  # noqa: E402
from training_step import solution_namespace  # noqa: E402

STRETCH_SECONDS = 2.0  # one timed stretch; slow configurations run fewer steps in it
ROUNDS = 3  # each figure is the best of this many stretches


def steps_per_second(step, batches: torch.Tensor) -> float:
    """Steps per second over a stretch of about STRETCH_SECONDS."""
    started, done = time.perf_counter(), 0
    with torch.inference_mode():
        while time.perf_counter() - started < STRETCH_SECONDS:
            step(batches[done % len(batches)], 0.1)
            done += 1
    return done / (time.perf_counter() - started)


def main():
    setup = makemore.MakemoreSetup(n_hidden=training.N_HIDDEN)
    batches = torch.randint(0, setup.Xtr.shape[0], (20_000, setup.batch_size), generator=setup.generator)
    backward = solution_namespace("answer_embedding_backward", "answer_backward")["backward"]
    torch.set_num_threads(1)
    started = time.perf_counter()
    compiled = training.TrainingStep(training.copy_parameters(setup.params), setup.Xtr, setup.Ytr, backward,
                                     setup.batch_size, compile=True)
    compile_seconds = time.perf_counter() - started
    plain = training.TrainingStep(training.copy_parameters(setup.params), setup.Xtr, setup.Ytr, backward,
                                  setup.batch_size, compile=False)
    lesson, default = "compiled, 1 thread (the lesson)", f"plain, {DEFAULT_THREADS} threads (PyTorch's default)"
    configurations = {lesson: (compiled, 1), "plain, 1 thread": (plain, 1), default: (plain, DEFAULT_THREADS)}
    figures = {}
    for _ in range(ROUNDS):  # quiet and neighbour take turns, so the machine's own moods hit both alike
        for neighbour in (False, True):
            with busy_neighbour(neighbour):
                for name, (step, threads) in configurations.items():
                    torch.set_num_threads(threads)
                    figures[name, neighbour] = max(figures.get((name, neighbour), 0.0), steps_per_second(step, batches))
    torch.set_num_threads(1)

    print(f"Exercise 4's training loop, steps per second (torch {torch.__version__}, {os.cpu_count()} CPUs; "
          f"the step {compiled.describe()})")
    print(f"  {'':44s} {'quiet':>8s} {'neighbour':>10s} {'ratio':>6s}")
    for name in configurations:
        quiet, busy = figures[name, False], figures[name, True]
        print(f"  {name:44s} {quiet:8,.0f} {busy:10,.0f} {quiet / busy:6.2f}")
    full_seconds = training.MAX_STEPS / figures[lesson, True] + compile_seconds
    print(f"  200,000 steps beside the neighbour: about {full_seconds:.0f} s with compiling")
    print(f"lesson_steps_per_s_quiet: {figures[lesson, False]:.0f}")
    print(f"lesson_steps_per_s_neighbour: {figures[lesson, True]:.0f}")
    print(f"default_threads_steps_per_s_neighbour: {figures[default, True]:.0f}")
    print(f"neighbour_over_quiet: {figures[lesson, False] / figures[lesson, True]:.2f}")
    if "--record" in sys.argv[1:]:
        record("training_loop", {
            "date": datetime.date.today().isoformat(), "cpus": os.cpu_count(), "compile_seconds": round(compile_seconds),
            "default_threads": DEFAULT_THREADS,
            "steps_per_second": {f"{name}{', neighbour' if busy else ''}": round(value)
                                 for (name, busy), value in figures.items()}})


if __name__ == "__main__":
    sys.exit(main())
