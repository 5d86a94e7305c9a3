"""`cmp(name, dt, t)` as in the original lecture, for learners following the video with their own
autograd-enabled tensors. The course's notebooks use `Exercise.check`, which needs no `.grad`."""

import torch

from .check import Status
from .compare import compare


def cmp(s: str, dt, t) -> None:
    """Print `name | exact | approximate | maxdiff` comparing your gradient `dt` with `t.grad`."""
    grad = getattr(t, "grad", None)
    if not isinstance(t, torch.Tensor) or grad is None:
        print(f"{s:15s} | cannot compare: {s}.grad is empty. cmp() compares with autograd's answer, so "
              f"call loss.backward() after {s}.retain_grad() first (the course's ex.check() needs neither).")
        return
    check = compare(f"d{s}", dt, grad, of=s)
    if check.status in (Status.NOT_DONE, Status.INVALID):
        print(f"{s:15s} | {check.reason}")
        return
    print(f"{s:15s} | exact: {str(check.exact):5s} | approximate: {str(check.approx):5s} | "
          f"maxdiff: {check.maxdiff}")
