"""Calling code the learner wrote, from a lesson's own cells, without ever showing them a traceback
from the course: an unfinished or failing answer gives one sentence and placeholders instead.

    dx, dw, db = call("lin_grad", lin_grad, x, w, b, dout, outputs=3)
"""

import inspect


def call(name: str, function, *args, outputs: int = 1):
    """`function(*args)`, or `None` (a tuple of `outputs` Nones) after printing why it cannot be used:
    still a placeholder, not a function, an exception inside it, or the wrong number of results."""
    nothing = None if outputs == 1 else (None,) * outputs
    if function is None or function is Ellipsis:
        print(f"{name} is still a placeholder: write it above, run its cell, then run this one again.")
        return nothing
    if not callable(function):
        print(f"{name} is {type(function).__name__}, not a function: define it with `def {name}(...):`.")
        return nothing
    try:
        result = function(*args)
    except Exception as error:  # the learner's bug: name it in one line, keep the lesson running
        print(f"{name}{_signature(function)} raised {type(error).__name__}: {error}")
        return nothing
    if outputs > 1 and not (isinstance(result, (tuple, list)) and len(result) == outputs):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"one {type(result).__name__}"
        print(f"{name} must return {outputs} values (a tuple), but it returned {got}.")
        return nothing
    return tuple(result) if outputs > 1 else result


def _signature(function) -> str:
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"
