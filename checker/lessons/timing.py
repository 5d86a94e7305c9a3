"""Fair timing of training steps: interleaved, repeated, medians."""

import statistics
import time


def median_step_times(steps: dict, batches: list, rounds: int = 15) -> dict:
    """Median microseconds per call for each `step(Xb, Yb)` in `steps`.

    Every round runs each step over the same batches, one step after another, and the order
    rotates between rounds: load on the machine that comes and goes hits all steps alike.
    """
    names = list(steps)
    for name in names:  # warm-up: first calls allocate and pick kernels
        steps[name](*batches[0])
    samples = {name: [] for name in names}
    for round_ in range(rounds):
        k = round_ % len(names)
        for name in names[k:] + names[:k]:
            start = time.perf_counter()
            for Xb, Yb in batches:
                steps[name](Xb, Yb)
            samples[name].append((time.perf_counter() - start) / len(batches) * 1e6)
    return {name: statistics.median(times) for name, times in samples.items()}
