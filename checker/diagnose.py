"""Recognise the common wrong answers and say, as a hint, what most likely went wrong.

Called only for answers that have the reference's shape and are wrong. Each rule compares the
answer with the float64 truth; the first rule that fits gives the hint. Known slips that need the
exercise's own knowledge (a missing branch, the Bessel factor) come as `mistakes`: a hint and the
tensor that slip would produce.
"""

import torch

# Mistakes named by what kind of wrong they are, not by a hint's words (see mistake_name).
SOME_VALUES_WRONG = "only some of its values are wrong"
SIZE_ONE_DIMENSIONS = "its size-1 dimensions differ from the tensor's (keepdim)"
NO_KNOWN_MISTAKE = "it does not match autograd (no known mistake fits)"

# How close "the same up to a factor" must be, relative to the answer's size.
FIT_TOLERANCE = 1e-4
# Rows or elements listed in a hint before "and N more".
MAX_LISTED = 5


def diagnose(yours: torch.Tensor, truth: torch.Tensor, allowed: float, n: int | None,
             mistakes: dict[str, torch.Tensor]) -> str:
    """A hint for a wrong answer, or '' when no rule fits. `allowed` is the error the verdict
    accepts; `n` the batch size, for recognising 1/n and Bessel factors."""
    yours = yours.to(torch.float64)
    for hint, mistaken in mistakes.items():
        if (yours - mistaken).abs().max().item() <= allowed:
            return hint
    scale = truth.abs().max().item()
    if scale == 0:
        return ""
    if yours.abs().max().item() == 0:
        return ("it is all zeros, but the gradient is not: was it never filled in, or assigned with "
                "`=` where contributions should add up with `+=`?")
    if yours.dim() == 2 and yours.shape[0] == yours.shape[1] and _close(yours, truth.T, allowed):
        return "it equals the right gradient transposed: check the order of the matrix product"
    factor = _constant_factor(yours, truth)
    if factor is not None:
        # A single number is always some multiple of the right one: only a recognised factor says anything.
        return _factor_hint(factor, n, named_only=yours.numel() == 1)
    return _where_wrong(yours, truth, allowed)


def _close(a, b, allowed) -> bool:
    return (a - b).abs().max().item() <= allowed


def _constant_factor(yours, truth) -> float | None:
    """k if yours == k * truth everywhere (up to rounding), else None."""
    k = (yours * truth).sum().item() / (truth * truth).sum().item()
    if k == 0:
        return None
    fits = (yours - k * truth).abs().max().item() <= FIT_TOLERANCE * yours.abs().max().item()
    return k if fits else None


def _factor_hint(k: float, n: int | None, named_only: bool = False) -> str:
    known = [(-1.0, "the sign is flipped: check the minus signs on the way back")]
    if n:
        known += [
            (n, f"it is the right gradient × {n} (n): did you forget the 1/n from the mean?"),
            (1 / n, f"it is the right gradient ÷ {n} (n): a 1/n was applied twice"),
            (-n, f"it is the right gradient × -{n}: the sign is flipped and the 1/n is missing"),
            (n / (n - 1), f"it is the right gradient × {n}/{n - 1}: Bessel's correction, n-1 versus n"),
            ((n - 1) / n, f"it is the right gradient × {n - 1}/{n}: Bessel's correction, n versus n-1"),
        ]
    known += [(2.0, "it is the right gradient × 2: a contribution counted twice, or an extra factor 2"),
              (0.5, "it is the right gradient ÷ 2: a factor 2 is missing (the derivative of x**2 is 2x)")]
    for factor, hint in known:
        if abs(k - factor) <= 1e-3 * abs(factor):
            return hint
    if named_only:
        return ""
    return f"it is the right gradient × {k:.4g} everywhere: a constant factor is off"


def _where_wrong(yours, truth, allowed) -> str:
    """Only some rows or elements wrong: how many, and where."""
    wrong = (yours - truth).abs() > allowed
    count, total = int(wrong.sum()), wrong.numel()
    if count == 0 or count == total:
        return ""
    if yours.dim() == 2:
        rows = wrong.any(1).nonzero().flatten().tolist()
        if len(rows) < yours.shape[0]:
            listed = ", ".join(map(str, rows[:MAX_LISTED])) + (f" and {len(rows) - MAX_LISTED} more" if len(rows) > MAX_LISTED else "")
            per_row = wrong.sum(1)[rows]
            one_each = " (one element each)" if bool((per_row == 1).all()) else ""
            return f"{count} of its {total} values are wrong, in rows {listed}{one_each}; the rest are right"
    where = [tuple(int(i) for i in index) for index in wrong.nonzero()[:MAX_LISTED]]
    more = f" and {count - MAX_LISTED} more" if count > MAX_LISTED else ""
    return f"{count} of its {total} values are wrong, at {', '.join(map(str, where))}{more}; the rest are right"


def mistake_name(hint: str, mistakes: dict) -> str:
    """The mistake a hint names, in words that are the same for every learner and seed, so a class's
    mistakes can be counted: a catalogued slip is its hint; a recognised factor is what the hint
    says after its colon ("did you forget the 1/n from the mean?"); another rule's hint is what it
    says before its colon ("it equals the right gradient transposed"); some values wrong is "only
    some of its values are wrong". '' when there is no hint."""
    if not hint or hint in mistakes:
        return hint
    if hint.endswith("the rest are right"):
        return SOME_VALUES_WRONG
    before, _, after = hint.partition(": ")
    return after if before.startswith("it is the right gradient") and after else before
