"""Answers handed out of a graded kernel as plain values, for the grader to judge in its own process.

A graded kernel belongs to the learner: whatever it holds, their cells can reach. So in a graded
kernel an exercise holds no references and decides nothing. Each hidden test hands the learner's
answer to the grader as data (dtype, shape and the numbers; never a pickled object or a learner's
Tensor subclass), in an output of its own MIME type; the grader (checker/grading/judge.py) rebuilds
the references from the grading seed and judges the answer with the same compare, diagnosis and
carried-forward logic the learner saw in JupyterLab.

    hand_in("exercise1", "dlogprobs", dlogprobs)   # in a graded kernel: one output, no verdict
    decode(encode(value))                          # in the grader: the answer, rebuilt

Code answers (a learner's class or function) are run in the kernel on the lesson's own inputs by
the lesson's `probe`, and what they returned is handed out the same way.
"""

import base64
import math

import numpy as np
import torch

from .check import Check, Status
from .environment import graded

ANSWER_MIME = "application/vnd.backprop-ninja.answer+json"
SUMMARY_MIME = "application/vnd.backprop-ninja.summary+json"
MAX_ITEMS = 10_000  # of a list or dict: an answer is never bigger; anything bigger is described, not sent
MAX_STRING = 1000  # a sentence, with a learner's error message in it


# plain data ---------------------------------------------------------------------------------------
def encode(value, depth: int = 0):
    """`value` as JSON-able data. Tensors keep dtype, shape, their numbers and whether they require
    grad; Python numbers, strings, lists, tuples, dicts and numpy arrays keep their type; anything
    else is described by its type's name. Never runs a learner's method (a Tensor subclass's
    `__torch_function__` is switched off while its numbers are read)."""
    if value is None or value is Ellipsis:
        return {"kind": "none" if value is None else "ellipsis"}
    if isinstance(value, torch.Tensor):
        return _encode_tensor(value)
    if isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if isinstance(value, int):
        return {"kind": "int", "value": str(value)}  # as text: JSON has no big integers
    if isinstance(value, float):
        return {"kind": "float", "value": _float_text(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.size <= 10 * MAX_ITEMS:
        data = np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<"), copy=False)
        return {"kind": "ndarray", "dtype": value.dtype.str.lstrip("<>|="), "shape": list(value.shape),
                "data": base64.b64encode(data.tobytes()).decode()}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return {"kind": "numpy_scalar", "dtype": value.dtype.str.lstrip("<>|="), "value": _float_text(float(value))}
    if isinstance(value, str):
        return {"kind": "str", "value": value[:MAX_STRING]}
    if type(value) in (list, tuple) and len(value) <= MAX_ITEMS and depth < 8:
        return {"kind": type(value).__name__, "items": [encode(v, depth + 1) for v in value]}
    if type(value) is dict and len(value) <= MAX_ITEMS and depth < 8:
        return {"kind": "dict", "items": [[str(k)[:MAX_STRING], encode(v, depth + 1)] for k, v in value.items()]}
    return {"kind": "object", "type": _type_name(value)}


def _encode_tensor(tensor: torch.Tensor) -> dict:
    # torch.Tensor's own methods, called on the tensor: a subclass's overrides are never run
    with torch._C.DisableTorchFunctionSubclass():
        plain = torch.Tensor._make_subclass(torch.Tensor, torch.Tensor.detach(tensor))
        described = {"kind": "tensor", "dtype": str(plain.dtype).removeprefix("torch."), "shape": list(plain.shape),
                     "requires_grad": bool(torch.Tensor.requires_grad.__get__(tensor)), "device": plain.device.type}
        if plain.device.type != "cpu" or plain.is_sparse or plain.dtype in (torch.bfloat16, torch.complex32) \
                or plain.is_quantized or plain.numel() > 4_000_000:
            return {**described, "data": None}
        described["data"] = base64.b64encode(plain.cpu().contiguous().numpy().tobytes()).decode()
        return described


def _float_text(x: float) -> str:
    return repr(x) if math.isfinite(x) else str(x)


def _type_name(value) -> str:
    try:
        return str(type(value).__name__)[:MAX_STRING]
    except Exception:  # a learner's metaclass may raise
        return "object"


def decode(data: dict):
    """The value `encode` described, rebuilt in this process: a plain tensor, number, list, array...
    An object of another kind becomes an empty object of a class with the same name, so the
    sentences that name its type ("a str", "a Value") read the same as in JupyterLab."""
    kind = data.get("kind")
    if kind == "none":
        return None
    if kind == "ellipsis":
        return Ellipsis
    if kind == "tensor":
        return _decode_tensor(data)
    if kind == "bool":
        return bool(data["value"])
    if kind == "int":
        return int(data["value"])
    if kind == "float":
        return float(data["value"])
    if kind == "ndarray":
        return np.frombuffer(base64.b64decode(data["data"]), dtype=np.dtype(data["dtype"]).newbyteorder("<")) \
            .reshape(data["shape"]).copy()
    if kind == "numpy_scalar":
        return np.dtype(data["dtype"]).type(float(data["value"]))
    if kind == "str":
        return str(data["value"])
    if kind in ("list", "tuple"):
        items = [decode(v) for v in data["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {k: decode(v) for k, v in data["items"]}
    return type(str(data.get("type", "object")), (), {})()


_DTYPES = {name: getattr(torch, name) for name in (
    "float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "complex64", "complex128")}


def _decode_tensor(data: dict) -> torch.Tensor:
    dtype = _DTYPES.get(data["dtype"])
    if dtype is None or data.get("data") is None:  # an unusual tensor: its form still says what is wrong
        tensor = torch.zeros(data["shape"], dtype=dtype or torch.float32, device="meta" if data.get("device") != "cpu" else "cpu")
        return tensor
    raw = base64.b64decode(data["data"])
    tensor = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
    tensor = tensor.reshape(data["shape"]).clone()
    if data.get("requires_grad") and tensor.is_floating_point():
        tensor.requires_grad_()
    return tensor


class Probed:
    """What a learner's code returned on the lesson's own inputs, run in the kernel by the lesson's
    `probe(exercise_key, label, yours)` and handed out as plain values (`data`). A class-checking
    exercise's `result(label, Probed(data))` judges those values as it would judge the code itself."""

    def __init__(self, data):
        self.data = data


# the kernel's side --------------------------------------------------------------------------------
def hand_in(exercise: str, label: str, yours) -> None:
    """Hand `yours` (already plain data, from `encode` or a lesson's probe) to the grader: one
    output of the answer MIME type in this cell. Decides nothing."""
    from IPython.display import display

    display({ANSWER_MIME: {"exercise": str(exercise), "label": str(label), "answer": yours},
             "text/plain": f"{label}: handed to the grader, which judges it in its own process"}, raw=True)


class HandIn:
    """What a lesson's exercise is in a graded kernel: the same calls as the learner's `ex`, and no
    references or verdicts behind them. The hidden tests hand each answer to the grader; the
    grader's report replaces this cell's output, and its scoreboard replaces `summary()`'s."""

    def __init__(self, key: str, title: str = "", given: dict | None = None):
        self.key, self.title = key, title
        self.given = dict(given or {})

    def check(self, label, yours) -> None:
        pass  # the hidden test below hands the answer in; the grader's report takes this place

    def result(self, label, yours, *, record: bool = True) -> Check:
        return Check(str(label), Status.NOT_DONE, "judged by the grader, in its own process")

    def preview(self, label, yours) -> None:
        print(f"{label}: previews are not shown while grading.")

    def plot(self, label, yours) -> None:
        self.preview(label, yours)

    def hint(self, label) -> None:
        print(f"{label}: hints are not shown while grading.")

    def ready(self, *args, **kwargs) -> bool:
        return True

    def summary(self) -> "ScoreboardPlaceholder":
        return ScoreboardPlaceholder(self.key)

    scoreboard = summary


class ScoreboardPlaceholder:
    """`ex.summary()` in a graded kernel: the grader puts its own scoreboard here. `parts`
    ([[name, key], ...]) asks for one scoreboard of several exercises, its rows labelled by part."""

    def __init__(self, key: str = "", parts: list | None = None, title: str = ""):
        self.key, self.parts, self.title = key, parts, title

    def _repr_mimebundle_(self, include=None, exclude=None):
        wanted = {"exercise": self.key, "parts": self.parts, "title": self.title}
        return {SUMMARY_MIME: wanted, "text/plain": "the grader's scoreboard"}


def exercise_factory(key: str, given=None, code: bool = False):
    """Decorate a lesson's exercise factory: in a graded kernel it returns a `HandIn` (with the
    tensors the lesson hands the learner, from `given(*args)`) and computes no reference. With
    `code`, the exercise checks a learner's class or function: its lesson module's `probe` runs it
    in the kernel, and the grader judges what it returned (`Probed`)."""
    import functools

    def wrap(factory):
        @functools.wraps(factory)
        def build(*args, **kwargs):
            if graded():
                return HandIn(key, given=given(*args, **kwargs) if given is not None else None)
            return factory(*args, **kwargs)
        build.exercise_key = key
        build.code_answers = code
        return build
    return wrap
