"""Lesson 02: your own scalar autograd engine, a `Value` class in the style of micrograd, checked.

    ex = scalar_engine.engine_exercise()      # the checker's numbers for each check, from the seed
    ex.check("add_mul", Value)                # builds an expression with YOUR class, walks it back,
                                              # compares every leaf's .grad with PyTorch's autograd
    scalar_engine.draw_graph(out)             # the graph, with data and grad at each node (matplotlib)
    scalar_engine.compare_with_torch(Value)   # your backward against PyTorch in float64

The interface the lesson asks for, as micrograd's: `Value(data, _children=(), _op="")` with `data`,
`grad` (a new Value's is 0), `_prev` (the operands), `_op` and `_backward` (a function of no
arguments that adds out.grad times the local derivative to each operand's grad); the operators
+, *, ** (a number exponent), unary -, binary -, the methods relu() and tanh(), and backward().

The op checks walk the graph themselves (reverse topological order, calling your `_backward`s), so
they can run before you write `backward`; the `backward` check runs yours. Every check first tries
each op on its own, so a wrong local gradient is reported by the op's name. Whatever the class does
wrong (no class, a missing method, an exception, a grad that is not a number) becomes one sentence,
never a traceback.

A check has two halves: `probe` runs your class on the check's expressions (in a graded kernel,
where it holds no reference) and returns plain numbers and sentences; the exercise's `rows` judges
them against PyTorch (in the grader, from the same seed). In JupyterLab `rows` does both.
"""

import math
import os
import reprlib
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from .class_checks import ClassChecks, Unusable, article, combine_rows, said, unusable
from ..check import Check, Status
from ..compare import compare
from ..environment import generator, seed_from_env
from ..exercise import Exercise
from ..handout import exercise_factory
from ..references import autograd_references, function_gradients

LESSON = "02_scalar_autograd_engine"  # its folder in solutions/ and lessons/: the rules its checks apply

OP_METHODS = {"add": "__add__", "mul": "__mul__", "pow": "__pow__", "neg": "__neg__", "sub": "__sub__",
              "relu": "relu", "tanh": "tanh"}
_HOW = {"__add__": "`def __add__(self, other):` (it makes `a + b` work)",
        "__mul__": "`def __mul__(self, other):` (it makes `a * b` work)",
        "__pow__": "`def __pow__(self, k):` (it makes `a ** 3` work)",
        "__neg__": "`def __neg__(self):` (it makes `-a` work)",
        "__sub__": "`def __sub__(self, other):` (it makes `a - b` work)",
        "relu": "`def relu(self):`", "tanh": "`def tanh(self):`"}
MAX_DRAWN_NODES = 60
MAX_WALKED_NODES = 10_000  # a check's expressions have a few dozen Values: more is a runaway graph
_CHECKER_FOLDER = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Case:
    """An expression to build with the learner's Value: its leaves' numbers, the gradient flowing into
    its output, and hints for known slips {leaf: {hint: f(upstream, **leaves), the gradient that slip
    gives}} (computed in the grader, never in the kernel).
    `expression` works on Values and on torch tensors alike (both have +, *, **, -, relu(), tanh())."""

    name: str
    formula: str
    expression: Callable
    inputs: dict  # {leaf name: float32 0-dim tensor}; the learner's Value gets the same number
    upstream: float = 1.0
    ops: tuple = ()
    hints: dict = field(default_factory=dict)


# ---------------------------------------------------------------- running the learner's class

def _run(thunk: Callable, doing: str):
    """thunk(); an exception in the learner's code becomes Unusable naming the method that raised
    (and no warning reaches stderr: in a graded cell it would cost the points)."""
    try:
        with warnings.catch_warnings(action="ignore"):
            return thunk()
    except Unusable:
        raise
    except Exception as error:  # the learner's bug, reported in one sentence
        message = (str(error).strip().splitlines() or ["no message"])[0]
        raise Unusable(f"{_where(error) or doing} raised {type(error).__name__}: {message}") from None


def _where(error: Exception) -> str:
    """'the _backward made by Value.tanh': the deepest frame of the learner's code in a traceback."""
    frames = [f for f, _ in traceback.walk_tb(error.__traceback__)
              if not os.path.abspath(f.f_code.co_filename).startswith(_CHECKER_FOLDER)]
    if not frames:
        return ""
    code = frames[-1].f_code
    name = getattr(code, "co_qualname", code.co_name)
    if name.endswith("<locals>._backward"):
        return f"the _backward made by {name.removesuffix('.<locals>._backward')}"
    return f"{name}" if "." in name else f"{name} (in your code)"


def _class_problem(Value, methods) -> None:
    """Raise Unusable unless `Value` is a class with every method in `methods`."""
    if Value is None or Value is Ellipsis:
        raise Unusable("not done yet: replace the placeholder `Value = None` with your class, `class Value:`.",
                        Status.NOT_DONE)
    if not isinstance(Value, type):
        if all(hasattr(Value, a) for a in ("data", "grad")):
            raise Unusable("Value is one of your Values, not the class: pass the class itself "
                            "(Value, not Value(1.0)).")
        raise Unusable(f"Value is {article(type(Value).__name__)} ({reprlib.repr(Value)}), but it must be your "
                        f"class: `class Value:`.")
    for method in methods:
        if not callable(getattr(Value, method, None)):
            if method == "backward":
                raise Unusable("Value has no backward method yet: write `backward` above and run the cell "
                                "that attaches it (`Value.backward = backward`).", Status.NOT_DONE)
            raise Unusable(f"Value has no {method} method yet: define {_HOW[method]} inside the class.",
                            Status.NOT_DONE)


def _number_problem(what: str, x) -> str | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        if x is None:
            return f"{what} is None; it must be a number (a new Value's grad starts at 0.0)."
        if hasattr(x, "data") and hasattr(x, "grad"):
            return (f"{what} is a Value, but it must be a plain number: in _backward use other.data, "
                    f"not other (and out.grad, a number).")
        return f"{what} is {article(type(x).__name__)} ({reprlib.repr(x)}), but it must be a plain number (a float)."
    return None


def _leaf(Value, number: float):
    leaf = _run(lambda: Value(number), f"Value({number:.4g})")
    for attribute, wanted in (("data", number), ("grad", 0.0)):
        if not hasattr(leaf, attribute):
            raise Unusable(f"Value({number:.4g}) has no .{attribute}: set self.{attribute} in __init__.")
        if getattr(leaf, attribute) != wanted:
            raise Unusable(f"Value({number:.4g}).{attribute} is {reprlib.repr(getattr(leaf, attribute))}, "
                            f"but it must be {wanted:.4g}: " + ("store the number in self.data." if attribute == "data"
                                                                else "a new Value's grad starts at 0.0."))
    return leaf


def _children(node) -> list:
    prev = getattr(node, "_prev", None)
    if prev is None:
        raise Unusable(f"{_describe(node)} has no _prev: store the operands, "
                        f"e.g. `Value(self.data + other.data, (self, other), '+')`, in self._prev.")
    try:
        children = list(prev)
    except TypeError:
        raise Unusable(f"the _prev of {_describe(node)} is {article(type(prev).__name__)}; make it a tuple "
                        f"(or set) of the operand Values.") from None
    for child in children:
        if not _is_value(child):
            raise Unusable(f"the _prev of {_describe(node)} holds {article(type(child).__name__)} "
                            f"({reprlib.repr(child)}): store the operand Values, wrapping numbers in Value(...).")
    return children


def _is_value(x) -> bool:
    """One of the learner's Values, or of a class of theirs that works alike."""
    return hasattr(x, "data") and hasattr(x, "grad") and not isinstance(x, type)


def _describe(node) -> str:
    op = getattr(node, "_op", "")
    return f"the Value made by {op!r}" if op else "a Value"


def topological_order(root, limit: int | None = None) -> list:
    """Every node of the graph below `root`, each after all of its operands (no recursion, so a deep
    graph does not hit Python's recursion limit); Unusable beyond `limit` nodes."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            if limit is not None and len(seen) >= limit:
                raise Unusable(f"the graph below {_describe(root)} has more than {limit} Values, but these "
                               f"expressions make a few dozen: does an op add Values to _prev that it did not use?")
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in seen)
    return order


def _walk(root, upstream: float) -> None:
    """The checker's own backward: root.grad = upstream, then every _backward in reverse topological order."""
    order = topological_order(root, MAX_WALKED_NODES)
    root.grad = upstream
    for node in reversed(order):
        backward = getattr(node, "_backward", None)
        if not callable(backward):
            raise Unusable(f"{_describe(node)} has no _backward function: set `self._backward = lambda: None` "
                            f"in __init__, and out._backward in each op.")
        _run(backward, f"the _backward of {_describe(node)}")


# ---------------------------------------------------------------- the cases and the probes

def _number(g, low, high, sign=None) -> torch.Tensor:
    """A float32 0-dim tensor with |x| in [low, high); its sign random unless given."""
    x = torch.rand((), generator=g) * (high - low) + low
    if sign is None:
        sign = 1 if torch.rand((), generator=g) < 0.5 else -1
    return x * sign


def _backward_expression(a, b, c):
    d = a * b + c  # d feeds three later nodes: its gradient is complete only after all three sent theirs
    e = d.tanh() * d
    return (e - a).relu() + (-d) * b ** 2 + e * c


def _cases(g) -> list[Case]:
    def leaves(*signs):
        return {name: _number(g, 0.5, 2.0, sign) for name, sign in zip("abc", signs)}

    k = round(float(torch.rand((), generator=g)) * 2 + 1.5, 2)
    return [
        Case("add_mul", "(a + b) * (b * c) + a * a", lambda a, b, c: (a + b) * (b * c) + a * a,
             leaves(None, None, None), ops=("add", "mul")),
        Case("pow", f"a ** {k} + (a * b) ** 2 + b ** -1", lambda a, b: a ** k + (a * b) ** 2 + b ** -1,
             leaves(1, None), ops=("pow",)),
        Case("sub_neg", "(a - b) * (c - a) - (-b) * c", lambda a, b, c: (a - b) * (c - a) - (-b) * c,
             leaves(None, None, None), ops=("neg", "sub")),
        Case("relu_tanh", "(a * b).relu() + (a * a).relu() * c + (b * c).tanh()",
             lambda a, b, c: (a * b).relu() + (a * a).relu() * c + (b * c).tanh(), leaves(1, -1, None),
             ops=("relu", "tanh")),
        Case("backward", "d = a * b + c; e = d.tanh() * d; out = (e - a).relu() + (-d) * b ** 2 + e * c",
             _backward_expression, leaves(None, None, None), ops=tuple(OP_METHODS)),
    ]


_ACCUMULATE = ("the same Value is both operands here, so its two contributions must add up: use `+=` in "
               "_backward, not `=`")


def _probes(g) -> dict[str, list[Case]]:
    """Each op alone, on numbers from `g`, with a gradient other than 1 flowing into it."""
    def probe(op, formula, expression, signs, hints=None):
        inputs = {name: _number(g, 0.5, 2.0, sign) for name, sign in zip("xy", signs)}
        upstream = float(_number(g, 0.5, 2.0))
        return Case(op, formula, expression, inputs, upstream, (op,), hints or {})

    k = round(float(torch.rand((), generator=g)) * 2 + 1.5, 2)
    return {
        "add": [probe("add", "x + y", lambda x, y: x + y, (None, None)),
                probe("add", "x + x", lambda x: x + x, (None,), {"x": {_ACCUMULATE: lambda u, x: u}})],
        "mul": [probe("mul", "x * y", lambda x, y: x * y, (None, None), {"x": {
                    "x.grad takes the OTHER operand's data: x.grad += y.data * out.grad": lambda u, x, y: x * u}}),
                probe("mul", "x * x", lambda x: x * x, (None,), {"x": {_ACCUMULATE: lambda u, x: x * u}})],
        "pow": [probe("pow", f"x ** {k}", lambda x: x ** k, (1,), {"x": {
            "that is k * x**k * out.grad; the exponent drops by one: k * x**(k - 1)": lambda u, x: k * x ** k * u}})],
        "neg": [probe("neg", "-x", lambda x: -x, (None,))],
        "sub": [probe("sub", "x - y", lambda x, y: x - y, (None, None), {"y": {
            "the second operand of a subtraction gets -out.grad": lambda u, x, y: u}})],
        "relu": [probe("relu", "x.relu() for x > 0", lambda x: x.relu(), (1,)),
                 probe("relu", "x.relu() for x < 0", lambda x: x.relu(), (-1,), {"x": {
                     "relu passes no gradient where its input is negative (out.data is 0 there)": lambda u, x: u}})],
        "tanh": [probe("tanh", "x.tanh()", lambda x: x.tanh(), (None,), {"x": {
            "that is (1 - t) * out.grad; the derivative of tanh is 1 - t**2, with t = tanh(x)":
                lambda u, x: (1 - math.tanh(x)) * u,
            "that is (1 - x**2) * out.grad; the derivative is 1 - t**2 with t = tanh(x), the OUTPUT":
                lambda u, x: (1 - x * x) * u}})],
    }


def _hint(check: Check) -> str:
    """The hint after compare's "does not match autograd: ...; hint", without the one that says
    nothing about a single number (any wrong number is the right one times some factor)."""
    hint = check.reason.split("; ", 1)[1] if "; " in check.reason else ""
    return "" if "everywhere: a constant factor is off" in hint else hint


_FORGOT_UPSTREAM = "that is the local derivative alone: multiply it by out.grad (the chain rule)"


def _inputs(seed: int) -> tuple[list[Case], dict[str, list[Case]]]:
    """The checks' expressions and each op's own, with their numbers from `seed`; no reference."""
    g = generator(seed)
    return _cases(g), _probes(g)


# ---------------------------------------------------------------- the probe: your class, run in the kernel

def probe(exercise_key: str, label: str, Value) -> dict:
    """What the learner's Value gives on the check `label`'s expressions, with numbers from
    seed_from_env(): in a graded kernel all the grader sees of it. Plain numbers and sentences, no
    reference and no verdict; never raises."""
    cases, probes = _inputs(seed_from_env())
    return _probe({case.name: case for case in cases}, probes, label, Value)


def _probe(cases: dict, probes: dict, name: str, Value) -> dict:
    """{"class": [status, sentence]} if Value cannot be run at all; else {"runs": {key: run}} for every
    expression the check `name` builds (its ops' own, then its own; for "backward", walked by yours
    and by the checker's walk, which tells a wrong walk from wrong ops)."""
    case = cases.get(name)
    if case is None:
        return {}
    walk = "yours" if name == "backward" else "checker"
    try:
        _class_problem(Value, [OP_METHODS[op] for op in case.ops] + (["backward"] if walk == "yours" else []))
        runs = {_run_key(op_case, "checker"): _run_data(op_case, Value, "checker")
                for op in case.ops for op_case in probes[op]}
        runs[_run_key(case, walk)] = _run_data(case, Value, walk)
        if walk == "yours":
            runs[_run_key(case, "checker")] = _run_data(case, Value, "checker")
    except Unusable as problem:
        return {"class": said(problem)}
    except Exception as error:  # a learner's metaclass or property, raising where the checker only looks
        return {"class": said(Unusable(f"Value raised {type(error).__name__} when the checker looked at it"))}
    return {"runs": runs}


def _run_key(case: Case, walk: str) -> str:
    return f"{walk}: {case.formula}"  # by formula: a check and an op share a name ("pow"), never a formula


def _run_data(case: Case, Value, walk: str) -> dict:
    """{"data": the output's number, "grads": {leaf: number, or a sentence if it is not one}}, or
    {"problem": [status, sentence]} when the expression cannot be built or walked."""
    try:
        return _run(lambda: _run_case(case, Value, walk), case.formula)
    except Unusable as problem:
        return {"problem": said(problem)}


def _run_case(case: Case, Value, walk: str) -> dict:
    leaves = {name: _leaf(Value, float(x)) for name, x in case.inputs.items()}
    out = _run(lambda: case.expression(**leaves), case.formula)
    if not _is_value(out):
        raise Unusable(f"{case.formula} gave {article(type(out).__name__)} ({reprlib.repr(out)}), not a Value: "
                        f"each op must return a new Value.")
    problem = _number_problem(f"the data of {case.formula}", getattr(out, "data", None))
    if problem:
        raise Unusable(problem)
    data = float(out.data)
    if walk == "yours":
        _run(out.backward, "Value.backward")
    else:
        _walk(out, case.upstream)
    grads = {}
    for name, leaf in leaves.items():
        grad = getattr(leaf, "grad", None)
        grads[name] = _number_problem(f"{name}.grad after backward", grad) or float(grad)
    return {"data": data, "grads": grads}


# ---------------------------------------------------------------- the exercise

class EngineExercise(ClassChecks):
    """Checks a whole Value class: `check("relu_tanh", Value)` shows a row per op, the forward and each
    leaf's gradient; `result(name, Value)`, what the hidden tests call, gives one Check."""

    lesson = LESSON

    def __init__(self, title: str, cases: list[Case], probes: dict[str, list[Case]]):
        self.title = title
        self.cases = {case.name: case for case in cases}
        self.probes = probes
        # by formula: a check and a probe may share a name ("pow"), never a formula
        everything = cases + [probe for ops in probes.values() for probe in ops]
        self._exercises = {case.formula: self._exercise(case) for case in everything}
        self._results: dict[str, Check] = {}

    @staticmethod
    def _exercise(case: Case) -> Exercise:
        upstream = torch.tensor(case.upstream)
        references = autograd_references(case.expression, case.inputs, upstream)
        local = function_gradients(case.expression, case.inputs, torch.float64)  # what upstream 1 gives
        values = {name: float(v) for name, v in case.inputs.items()}
        for leaf, reference in references.items():
            mistakes = {hint: torch.tensor(slip(case.upstream, **values), dtype=torch.float64)
                        for hint, slip in case.hints.get(leaf, {}).items()}
            if case.upstream != 1.0:
                mistakes[_FORGOT_UPSTREAM] = local[leaf]
            references[leaf] = replace(reference, mistakes=mistakes)
        return Exercise(case.formula, references)

    # ---- judging what the probe found

    def _judge_run(self, case: Case, runs: dict, walk: str = "checker") -> tuple[Check, dict]:
        """(forward row, {leaf: grad}) of `case` as the probe ran it; raises Unusable."""
        run = runs[_run_key(case, walk)]
        if "problem" in run:
            raise unusable(run["problem"])
        truth = case.expression(**{k: v.double() for k, v in case.inputs.items()})
        return compare("forward", float(run["data"]), truth.float(), truth), dict(run["grads"])

    def _gradient_rows(self, case: Case, grads: dict) -> list[Check]:
        rows = []
        for name in case.inputs:  # the checker's own leaves, whatever the data names
            grad = grads[name]
            if isinstance(grad, str):  # the probe's sentence: not a number
                rows.append(Check(f"d{name}", Status.INVALID, grad))
                continue
            grad = float(grad)
            row = self._exercises[case.formula].result(f"d{name}", grad, record=False)
            if row.status is Status.WRONG:  # one number: say it, rather than where a tensor differs
                truth = self._exercises[case.formula]._references[name].truth.item()
                hint = _hint(row)
                row = replace(row, details="", reason=f"{name}.grad is {grad:.6g}, but autograd says {truth:.6g}"
                                                      + (f"; {hint}" if hint else ""))
            rows.append(row)
        return rows

    def _op_row(self, op: str, runs: dict) -> Check:
        """One row for one op: each of its own expressions, forward and gradients, by the checker's walk."""
        for case in self.probes[op]:
            values = ", ".join(f"{k} = {float(v):.4g}" for k, v in case.inputs.items())
            try:
                forward, grads = self._judge_run(case, runs)
            except Unusable as problem:
                return Check(op, problem.status, f"{case.formula} with {values}: {problem.sentence}")
            if not forward.passed:
                truth = case.expression(**{k: v.double() for k, v in case.inputs.items()}).item()
                return Check(op, Status.WRONG, f"the forward is wrong: {case.formula} with {values} gives "
                                               f"data off by {forward.maxdiff:.3g} from {truth:.6g}")
            for row in self._gradient_rows(case, grads):
                if not row.passed:
                    where = f"{case.formula} with {values} and out.grad = {case.upstream:.4g}"
                    return Check(op, row.status, f"{where}: {row.reason}", maxdiff=row.maxdiff)
        formulas = " and ".join(case.formula for case in self.probes[op])
        return Check(op, Status.CORRECT, f"{formulas}: right data and gradients")

    def _probe(self, name: str, Value) -> dict:
        """The ops a check uses, its forward, and each leaf's gradient, from the learner's `Value`."""
        return _probe(self.cases, self.probes, name, Value)

    def _rows(self, name: str, found: dict) -> list[Check]:
        case = self.cases[name]
        walk = "yours" if name == "backward" else "checker"
        if "class" in found:
            problem = unusable(found["class"])
            return [Check(name, problem.status, problem.sentence)]
        runs = found["runs"]
        ops = [self._op_row(op, runs) for op in case.ops]
        if walk == "yours":  # seven rows would hide the point: one row for all the ops
            failed = [row for row in ops if not row.passed]
            ops = failed or [Check("ops", Status.CORRECT, f"{', '.join(case.ops)}: right data and gradients")]
        try:
            forward, grads = self._judge_run(case, runs, walk)
        except Unusable as problem:
            return [*ops, Check(name, problem.status, problem.sentence)]
        gradients = self._gradient_rows(case, grads)
        rows = [*ops, forward, *gradients]
        if walk == "yours" and all(row.passed for row in ops) and not all(row.passed for row in gradients):
            rows.insert(len(ops), self._walk_diagnosis(case, runs, grads))
        return rows

    def _walk_diagnosis(self, case: Case, runs: dict, grads: dict) -> Check:
        """The ops are right but backward's gradients are not: is it the walk?"""
        try:
            _, walked = self._judge_run(case, runs)
        except Unusable as problem:
            return Check("backward", problem.status, problem.sentence)
        if not all(row.passed for row in self._gradient_rows(case, walked)):
            return Check("backward", Status.WRONG, "the gradients are wrong even when the checker walks the graph")
        if all(g == 0 for g in grads.values()):
            advice = "every leaf's grad is still 0: set self.grad = 1.0, then call each node's _backward"
        else:
            advice = ("call each node's _backward exactly once, and only after every node that uses it has "
                      "called its own (reverse topological order); then its grad is complete when it passes it on")
        return Check("backward", Status.WRONG, f"your ops give the right gradients when the checker walks the graph, "
                                               f"so the walk in backward is the problem: {advice}")

    # ---- the public interface (result, check, preview, summary) is ClassChecks'

    def _table_title(self, label: str) -> str:
        return f"{label}: {self.cases[label].formula}"

    def _combine(self, name: str, rows: list[Check]) -> Check:
        """combine_rows, with this lesson's words for success."""
        combined = combine_rows(name, rows)
        if combined.passed:
            return replace(combined, reason=f"{', '.join(r.label for r in rows)} all correct")
        if len(rows) > 1 and rows[0].label == name and not rows[0].passed:  # the op "pow" in the check "pow"
            return replace(combined, reason=f"{name}: {combined.reason}")
        return combined

    def ready(self, needed: str = "this cell") -> bool:
        """True once every check has passed; otherwise say which are missing."""
        waiting = self._waiting()
        if waiting:
            print(f"Finish Value above to see {needed}: the checks {', '.join(waiting)} have not passed yet "
                  f"(run them after your answer cells).")
        return not waiting


@exercise_factory("scalar_engine:engine_exercise", code=True)
def engine_exercise(seed: int | None = None) -> EngineExercise:
    """The graded exercise: add_mul, pow, sub_neg, relu_tanh and backward, on numbers drawn from `seed`
    (default: seed_from_env(), so the grader's seed gives other numbers)."""
    return EngineExercise("Lesson 2: your scalar autograd engine", *_inputs(seed_from_env() if seed is None else seed))


# ---------------------------------------------------------------- beside the checks

def _usable_root(root, needed: str):
    """The sentence to print when `root` is not a finished Value, else None."""
    if root is None or root is Ellipsis:
        return f"Finish Value above to see {needed}."
    if not all(hasattr(root, a) for a in ("data", "grad", "_prev")):
        return (f"{needed[0].upper() + needed[1:]} needs one of your Values (with data, grad and _prev), "
                f"not {article(type(root).__name__)}.")
    return None


def graph_size(root) -> int:
    """The number of Values in the graph below `root` (root included)."""
    return len(topological_order(root))


def draw_graph(root, title: str = "") -> None:
    """Draw the graph below `root` with matplotlib: one box per Value (label, op, data, grad), an arrow
    from each operand to the Value made from it; the output on the right. Prints a sentence instead
    when `root` is not a finished Value."""
    problem = _usable_root(root, "the graph")
    if problem:
        print(problem)
        return
    try:
        order = topological_order(root)
    except Unusable as error:
        print(f"Cannot draw the graph: {error.sentence}")
        return
    if len(order) > MAX_DRAWN_NODES:
        print(f"This graph has {len(order)} Values; draw_graph draws at most {MAX_DRAWN_NODES}: draw a smaller one.")
        return
    import matplotlib.pyplot as plt

    # column = the longest path to the output, so every arrow points right
    column = {id(root): 0}
    for node in reversed(order):
        for child in node._prev:
            column[id(child)] = max(column.get(id(child), 0), column[id(node)] + 1)
    depth = max(column.values())
    rows_in = {}
    position = {}
    for node in order:
        c = column[id(node)]
        position[id(node)] = (depth - c, rows_in.get(c, 0))
        rows_in[c] = rows_in.get(c, 0) + 1
    tallest = max(rows_in.values())
    centre = {id(n): (x * 2.3, (y - (rows_in[column[id(n)]] - 1) / 2) * -1.25) for n in order
              for x, y in [position[id(n)]]}
    fig, ax = plt.subplots(figsize=(2.0 + 2.0 * (depth + 1), 0.6 + 1.0 * tallest))
    for node in order:
        for child in node._prev:
            ax.annotate("", xy=centre[id(node)], xytext=centre[id(child)],
                        arrowprops=dict(arrowstyle="->", color="0.55", shrinkA=30, shrinkB=30))
    for node in order:
        label, op = getattr(node, "label", ""), getattr(node, "_op", "")
        head = " ".join(str(s) for s in (label, f"[{op}]" if op else "") if s) or "leaf"
        text = f"{head}\ndata {_fmt(node.data)}\ngrad {_fmt(node.grad)}"
        leaf = not list(node._prev)
        ax.text(*centre[id(node)], text, ha="center", va="center", family="monospace", fontsize=8.5,
                bbox=dict(boxstyle="round,pad=0.35", fc="#e3f2fd" if leaf else "#fff8e1", ec="0.4"))
    ax.set_xlim(-1.2, depth * 2.3 + 1.2)
    ax.set_ylim(-(tallest - 1) / 2 * 1.25 - 0.8, (tallest - 1) / 2 * 1.25 + 0.8)
    ax.axis("off")
    ax.set_title(title or f"{len(order)} Values: leaves in blue, the output on the right")
    plt.show()


def _fmt(x) -> str:
    return f"{x:.4f}" if isinstance(x, (int, float)) and not isinstance(x, bool) else reprlib.repr(x)


def _neuron_expression(x1, x2, w1, w2, b):
    n = x1 * w1 + x2 * w2 + b
    return (n.tanh() - x1) ** 2 + (-n).relu() * w2 + (w1 - b) ** 3


NEURON_FORMULA = "n = x1*w1 + x2*w2 + b;  out = (tanh(n) - x1)**2 + relu(-n) * w2 + (w1 - b)**3"


def compare_with_torch(Value) -> float | None:
    """Build NEURON_FORMULA with your Value on seeded numbers, run YOUR backward, and print each leaf's
    grad beside PyTorch's float64 autograd and the largest absolute difference (returned)."""
    try:
        _class_problem(Value, [*OP_METHODS.values(), "backward"])
        g = generator()
        inputs = {name: _number(g, 0.5, 2.0) for name in ("x1", "x2", "w1", "w2", "b")}
        leaves = {name: _leaf(Value, float(x)) for name, x in inputs.items()}
        out = _run(lambda: _neuron_expression(**leaves), NEURON_FORMULA)
        _run(out.backward, "Value.backward")
    except Unusable as problem:
        print(f"Finish Value above to compare it with PyTorch ({problem.sentence})")
        return None
    torch_grads = function_gradients(_neuron_expression, inputs, torch.float64)
    print(NEURON_FORMULA)
    print(f"{'leaf':>4} {'data':>10} {'your grad':>22} {'PyTorch float64':>22} {'|difference|':>13}")
    largest = 0.0
    for name, leaf in leaves.items():
        reference = torch_grads[name].item()
        problem = _number_problem(f"{name}.grad", leaf.grad)
        if problem:
            print(problem)
            return None
        largest = max(largest, abs(leaf.grad - reference))
        print(f"{name:>4} {leaf.data:10.6f} {leaf.grad:22.16f} {reference:22.16f} {abs(leaf.grad - reference):13.1e}")
    print(f"largest absolute difference: {largest:.1e} (float64 rounds at about 1e-16 of a number's size)")
    return largest


def parabola_data(n: int = 500, noise: float = 1.0) -> tuple[list, list]:
    """n points (x, y): x uniform on [-1, 5], y = x² + Gaussian noise, seeded; as Python floats."""
    g = generator()
    x = torch.rand(n, generator=g, dtype=torch.float64) * 6 - 1
    y = x ** 2 + noise * torch.randn(n, generator=g, dtype=torch.float64)
    return x.tolist(), y.tolist()


def plot_fit(xs: list, ys: list, predict: Callable, losses: list) -> None:
    """The data, y = x² and the model's curve; beside it the training loss per step."""
    import matplotlib.pyplot as plt

    grid = [-1 + 6 * i / 100 for i in range(101)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.scatter(xs, ys, s=6, alpha=0.35, label="data")
    left.plot(grid, [x * x for x in grid], "k--", lw=1, label="y = x²")
    left.plot(grid, [predict(x) for x in grid], "C3", lw=2, label="your MLP")
    left.set(xlabel="x", ylabel="y", title="the fit")
    left.legend()
    right.plot(losses)
    right.set(xlabel="step", ylabel="minibatch loss", yscale="log", title="training loss")
    plt.show()


def plot_scaling(nodes: list, forward_ms: list, backward_ms: list) -> None:
    """Forward and backward time against the number of Values in the graph, with lines through 0."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for times, name in ((forward_ms, "forward"), (backward_ms, "backward")):
        slope = sum(n * t for n, t in zip(nodes, times)) / sum(n * n for n in nodes)  # least squares through 0
        ax.plot(nodes, times, "o", label=f"{name}: {slope * 1000:.1f} µs per Value")
        ax.plot([0, max(nodes)], [0, slope * max(nodes)], "--", color=ax.lines[-1].get_color(), lw=1)
    ax.set(xlabel="Values in the graph", ylabel="time (ms)", title="time grows linearly with the graph")
    ax.legend()
    plt.show()
