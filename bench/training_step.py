"""`make bench`: one training step of the Exercise 4 network, three ways, timed in one run.

- autograd: the lecture's forward, loss.backward(), SGD update;
- manual_loop: the lesson's readable backward with the Python loop for dC;
- manual_fast: `training.FastStep`, the lesson's "going further" step.
The readable backward is taken from the Exercise 4 solution notebook, so the benchmark times the
code the course teaches. Steps are interleaved and repeated; figures are medians.
Before them, `check_ms`: the median time of one checker report with diagnosis, for a wrong answer
to each Exercise 1 gradient. The last three lines are for tools: autograd_step_us,
manual_step_us (the fastest manual step) and manual_over_autograd.
"""

from pathlib import Path

import torch
import torch.nn.functional as F

from checker.lessons import makemore, timing, training
from checker.grading.notebooks import solutions_by_id

SOLUTION = Path(__file__).resolve().parent.parent / "solutions/07_makemore_training/makemore_training.ipynb"
ROUNDS, BATCHES = 25, 100


def solution_namespace(*grade_ids: str) -> dict:
    """What the Exercise 4 solution's answer cells `grade_ids` define, run in that order."""
    answers = solutions_by_id(SOLUTION)
    namespace = {"torch": torch, "F": F}
    for grade_id in grade_ids:
        exec(answers[grade_id], namespace)
    return namespace


def lesson_backward_with_loop():
    """The solution's backward, with the loop version of the embedding backward plugged in."""
    namespace = solution_namespace("answer_embedding_backward_loop", "answer_backward")
    namespace["embedding_backward"] = namespace["embedding_backward_loop"]
    return namespace["backward"]


def median_check_ms() -> float:
    """One check of a wrong answer (so every diagnosis rule runs), per Exercise 1 gradient."""
    import statistics
    import time

    setup = makemore.MakemoreSetup()
    ex = makemore.exercise1(setup)
    wrong = {name: g * 1.5 + 0.01 for name, g in
             makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32).items()}
    times = []
    for _ in range(5):
        for name in makemore.GRADIENT_ORDER:
            start = time.perf_counter()
            ex.result(f"d{name}", wrong[name])
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    setup = makemore.MakemoreSetup(n_hidden=training.N_HIDDEN)
    batches = [(setup.Xtr[ix], setup.Ytr[ix])
               for ix in torch.randint(0, setup.Xtr.shape[0], (BATCHES, setup.batch_size), generator=setup.generator)]
    autograd_params = training.copy_parameters(setup.params, requires_grad=True)
    loop_params = training.copy_parameters(setup.params)
    fast_step = training.FastStep(training.copy_parameters(setup.params), setup.batch_size)
    backward = lesson_backward_with_loop()
    lr = 0.01
    times = timing.median_step_times({
        "autograd": lambda X, Y: training.autograd_step(autograd_params, X, Y, lr),
        "manual_loop": lambda X, Y: training.manual_step(loop_params, X, Y, lr, backward),
        "manual_fast": lambda X, Y: fast_step(X, Y, lr),
    }, batches, rounds=ROUNDS)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {setup.batch_size}, "
          f"n_hidden {training.N_HIDDEN}; medians of {ROUNDS} interleaved rounds of {BATCHES} steps")
    for name, us in times.items():
        print(f"  {name:12s} {us:8.1f} µs/step   {us / times['autograd']:.2f}× autograd")
    print(f"check_ms: {median_check_ms():.2f}")
    print(f"autograd_step_us: {times['autograd']:.1f}")
    print(f"manual_step_us: {times['manual_fast']:.1f}")
    print(f"manual_over_autograd: {times['manual_fast'] / times['autograd']:.3f}")


if __name__ == "__main__":
    main()
