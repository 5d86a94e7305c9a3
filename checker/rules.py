"""The rules of an answer: a short list of unambiguous autograd use, read from the code, never run.

Two outcomes; nothing else is ever flagged.

  broke a rule  evidence that autograd, not the learner, computed something: `.grad` or `.grad_fn`
                read from a tensor, `.backward(` called on a tensor, `requires_grad` turned on, a call
                into `torch.autograd` or `torch.func`'s derivatives the lesson does not hand out,
                autograd's own derivative formulas (`torch.ops.aten.tanh_backward.default`), a
                `Parameter` made or a gradient hook registered, the checker's private helpers, or
                what the grading kernel's guard refused while the notebook ran. `getattr(x, "name")`
                `vars(x)["name"]` and `operator.attrgetter("name")(x)` are read as the `x.name` they are. The graded checks from that cell on score 0.
  for review    unusual, and maybe innocent: an answer cell of lessons 04-07 that runs the lesson's
                forward pass (numerical differentiation looks like that), an answer cell of lesson 09
                that calls the learner's own `numerical_grad`, `exec`/`eval`/`getattr` with
                code or a name made at run time, a check's report read in a loop, IPython magics
                other than timing and display. The score stands; the instructor is told.

A tensor is what the code evidently makes one: the result of a torch or checker call, the lesson's
own data (what the course's cells bind), and whatever is computed from them. A learner's own
objects (lesson 2's `Value`, a Module with a `backward` method) are not, so their `.grad` and
`.backward()` are theirs. Imports are not the rules' business: the kernel's guard decides those.
"""

import ast
import functools
import re
from dataclasses import dataclass, field

# What every lesson hands out of torch.autograd: a base class for your own backward, grad modes,
# and hooks that see what is saved for backward (never a gradient).
HARMLESS_AUTOGRAD = frozenset(f"torch.autograd.{name}" for name in (
    "Function", "function.Function", "no_grad", "grad_mode.no_grad", "set_grad_enabled",
    "grad_mode.set_grad_enabled", "inference_mode", "grad_mode.inference_mode", "graph.saved_tensors_hooks"))
AUTOGRAD_MODULES = ("torch.autograd", "torch.func", "functorch")
# Builtins the hidden tests run on: a learner's own `exec` or `open` changes what they do.
REBOUND_BUILTINS = frozenset({"exec", "open", "__import__", "compile", "getattr", "setattr"})
# Builtins that reach around the rules when handed around as values (`def f(g=getattr)`).
PASSED_BUILTINS = frozenset({"exec", "eval", "compile", "getattr", "setattr", "delattr", "__import__", "globals",
                             "vars", "locals"})
AUTOGRAD_CALLS = frozenset({"grad", "backward", "vjp", "jvp", "jacobian", "hessian", "hvp", "vhp", "jacrev", "jacfwd",
                            "grad_and_value", "linearize", "gradcheck", "gradgradcheck"})


def _autograd_through(node) -> str | None:
    """`x.autograd.functional.vjp`, `k.T.func.jacrev`: autograd's API reached through any alias, by
    its own names; the lesson's harmless parts (`autograd.Function`, `no_grad`) excepted."""
    names = []
    while isinstance(node, ast.Attribute):
        names.insert(0, node.attr)
        node = node.value
    for module in ("autograd", "func"):
        if module in names[:-1]:
            tail = names[names.index(module) + 1:]
            if f"torch.autograd.{'.'.join(tail)}" in HARMLESS_AUTOGRAD or not (set(tail) & AUTOGRAD_CALLS
                                                                                 or tail[0] == "functional"):
                continue
            return ".".join(names[names.index(module):])
    return None


# A line of IPython's: a magic or `!shell`, as typed or as IPython runs it (the guard records the latter)
MAGIC_LINE = re.compile(r"^\s*[%!]|get_ipython\(\)\.(run_line_magic|run_cell_magic|system|getoutput)\(")

AUTOGRAD_ATTRIBUTE_NAMES = frozenset({"grad", "requires_grad", "requires_grad_", "grad_fn", "retain_grad"})

# The checker's own functions that compute gradients or verdicts with autograd: the checker's
# autograd is autograd. Judged by name, however the module is reached (an alias, a default
# argument), and as a string (`vars(makemore)['autograd_gradients']`).
CHECKER_GRADIENTS = frozenset({
    "autograd_gradients", "graph_gradients", "graph_references", "function_gradients", "autograd_references",
    "branch_contributions", "softmax_jacobian", "_given_dhpreact", "_given_demb", "_references", "_cases",
    "_biased_batchnorm_backward", "_biased_dx", "roc_area", "roc_points", "topological_order", "given_earlier_answers",
    "central_difference", "_forward_difference", "_grad64", "_with_mistakes",
})
# torch.func's functions that compute no derivative: mapping a function over a batch is not autograd.
DERIVATIVE_FREE = frozenset({"vmap", "functional_call", "stack_module_state"})
# The class of every tensor: `.backward` called through it is autograd's own backward.
TENSOR_CLASSES = frozenset({"torch.Tensor", "torch._C.TensorBase", "torch._C._TensorBase", "torch.nn.Parameter",
                            "torch.nn.parameter.Parameter"})
# Made requiring grad unless told otherwise (`Parameter(data, requires_grad=True)`).
PARAMETERS = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
HOOKS = frozenset({"register_hook", "register_post_accumulate_grad_hook"})
REPORT_FIELDS = frozenset({"maxdiff", "reason", "your_error", "pytorch_error", "details", "checks"})
# Magics whose argument is Python (scanned as such), and magics that only show or time things.
CODE_MAGICS = frozenset({"time", "timeit"})
HARMLESS_MAGICS = frozenset({"precision", "matplotlib", "pinfo", "pinfo2", "who", "whos", "pdoc", "pdef",
                             "psource", "pprint"})
# Builtins that hand on what they are given: `dict(zip(names, tensors))` holds tensors.
CONTAINERS = frozenset({"list", "tuple", "dict", "set", "zip", "enumerate", "reversed", "sorted", "iter",
                        "next", "map", "filter"})
RUNS_CODE = frozenset({"exec", "eval", "compile"})
NAMES_ATTRIBUTE = frozenset({"getattr", "setattr", "delattr"})
# Lessons whose answers are gradients of the makemore network: running its forward pass in an
# answer cell is how numerical differentiation starts.
FORWARD_LESSONS = ("04_", "05_", "06_", "07_")


@dataclass(frozen=True)
class Rule:
    """What a lesson adds to the rules. `what` says why, in the report and the grade."""

    what: str = "this course's answers must be derived by hand"
    may_require_grad: bool = False  # gradcheck wants inputs that require grad (the capstone)
    autograd: frozenset = HARMLESS_AUTOGRAD  # the torch.autograd names a learner may use
    forward_is_unusual: bool = False
    # Functions of the learner's own that check an answer, not make one: called in an answer cell,
    # for review.
    checks_not_answers: tuple = ()


RULES = {
    "02_scalar_autograd_engine": Rule(what="the engine is yours, in pure Python"),
    "08_capstone_autograd_function": Rule(
        what="a Function's backward must be derived by hand", may_require_grad=True,
        autograd=HARMLESS_AUTOGRAD | {"torch.autograd.gradcheck", "torch.autograd.gradgradcheck"}),
    "09_transfer_new_layers": Rule(checks_not_answers=("numerical_grad",)),
}


def rule_for(lesson: str | None) -> Rule:
    if lesson in RULES:
        return RULES[lesson]
    return Rule(forward_is_unusual=(lesson or "").startswith(FORWARD_LESSONS))


@dataclass(frozen=True)
class Finding:
    line: int
    what: str  # "reads `.grad` of a tensor", ...
    review: bool = False  # for the instructor's review only: the score stands

    def __str__(self):
        return f"line {self.line} {self.what}"


# names and what they stand for --------------------------------------------------------------------
NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                 ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _in_scope(scope):
    """The nodes that run in `scope` itself, not inside the functions, classes and comprehensions it
    holds (whose own nodes are yielded, for their names)."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, NESTED_SCOPES):
            todo.extend(ast.iter_child_nodes(node))


def _bound_here(scope) -> set:
    """The names a function, lambda or comprehension binds in its own scope (parameters included)."""
    names = set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = scope.args
        names.update(x.arg for x in a.posonlyargs + a.args + a.kwonlyargs)
        names.update(x.arg for x in (a.vararg, a.kwarg) if x)
    if isinstance(scope, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return {n.id for g in scope.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
    for node in _in_scope(scope):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _imports(tree) -> dict:
    """{name: the dotted path it stands for} for every import, and aliases such as `ag = torch.autograd`."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.update({alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names})
    return found


@dataclass
class Namespace:
    """What the notebook's names stand for: imported modules (and their aliases), and which names at
    the top level evidently hold tensors."""

    modules: dict = field(default_factory=dict)  # name -> dotted path: "F" -> "torch.nn.functional"
    tensors: set = field(default_factory=set)


def namespace(course_sources: list[str], learner_sources: list[str]) -> Namespace:
    """The course's cells bind the lesson's data; where the learner binds a name too, the learner's
    bindings decide what it holds."""
    course = [t for t in map(parse, course_sources) if t is not None]
    learner = [t for t in map(parse, learner_sources) if t is not None]
    names = Namespace()
    for tree in course + learner:
        names.modules.update({k: v for k, v in _imports(tree).items() if k not in names.modules})
    for tree in course + learner:  # `ag = torch.autograd`, `grad = torch.autograd.grad`
        for node in _in_scope(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                path = dotted(node.value, names.modules)
                if path and path.split(".")[0] in ("torch", "functorch"):
                    names.modules.setdefault(node.targets[0].id, path)
    learner_bound = set().union(*(_top_level_names(t) for t in learner))
    evidence = Evidence(names.modules, lambda name: name in names.tensors)
    for _ in range(8):  # until nothing new is learnt (names depend on names)
        before = len(names.tensors)
        for tree, decides in [(t, lambda n: n not in learner_bound) for t in course] + [(t, lambda n: True) for t in learner]:
            names.tensors.update(n for n in evidence.tensors_bound(tree) if decides(n))
        if len(names.tensors) == before:
            break
    return names


def _top_level_names(tree) -> set:
    return {n.id for n in _in_scope(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def dotted(node, modules: dict) -> str | None:
    """`F.softmax` -> 'torch.nn.functional.softmax' when F is an imported module; else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in modules:
        return None
    return ".".join([modules[node.id]] + parts[::-1])


def _inside(path: str, prefixes) -> bool:
    """`torch.autograd.grad` is inside `torch.autograd`; `torch.functional` is not inside `torch.func`."""
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def _derivative_free(path: str) -> bool:
    """`torch.func.vmap` maps a function over a batch: torch.func, but no derivative."""
    return not _inside(path, ("torch.autograd",)) and path.split(".")[-1] in DERIVATIVE_FREE


def _truthy(node) -> bool | None:
    """True or False for a constant, None for anything computed at run time."""
    return bool(node.value) if isinstance(node, ast.Constant) else None


# tensors ---------------------------------------------------------------------------------------------
class Evidence:
    """Which expressions evidently are tensors: torch's and the checker's results, names bound to
    them, and what is computed from those. `known(name)` says whether a name visible here holds one."""

    def __init__(self, modules: dict, known):
        self.modules, self.known = modules, known

    def is_tensor(self, node) -> bool:
        if isinstance(node, ast.Name):
            return self.known(node.id) or self._from_library(node)
        if isinstance(node, ast.Attribute):
            return self.is_tensor(node.value) or self._from_library(node)
        if isinstance(node, (ast.Subscript, ast.Starred, ast.NamedExpr, ast.Await)):
            return self.is_tensor(node.value)
        if isinstance(node, ast.Call):
            func = node.func
            if _turns_requires_grad_on(node):
                return True
            if isinstance(func, ast.Name) and func.id in CONTAINERS and not self.modules.get(func.id):
                return any(self.is_tensor(a) for a in node.args)
            # a tensor's method, torch's function, or a torch object called (`torch.nn.Linear(64, 27)(h)`)
            return self.is_tensor(func.value if isinstance(func, ast.Attribute) else func) or self._from_library(func)
        if isinstance(node, ast.BinOp):
            return self.is_tensor(node.left) or self.is_tensor(node.right)
        if isinstance(node, ast.UnaryOp):
            return self.is_tensor(node.operand)
        if isinstance(node, ast.IfExp):
            return self.is_tensor(node.body) or self.is_tensor(node.orelse)
        if isinstance(node, ast.BoolOp):
            return any(map(self.is_tensor, node.values))
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return any(map(self.is_tensor, node.elts))
        if isinstance(node, ast.Dict):
            return any(map(self.is_tensor, node.values))
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = Evidence(self.modules, self._comprehension_known(node))
            return inner.is_tensor(node.value if isinstance(node, ast.DictComp) else node.elt)
        return False

    def _from_library(self, node) -> bool:
        path = dotted(node, self.modules)
        return bool(path) and path.split(".")[0] in ("torch", "functorch", "checker")

    def _comprehension_known(self, node):
        targets = {n.id for g in node.generators if self.is_tensor(g.iter)
                   for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        bound = _bound_here(node)
        return lambda name: name in targets or (name not in bound and self.known(name))

    def tensors_bound(self, scope) -> set:
        """The names `scope` (a module, function or lambda) binds to tensors: assigned one, looped
        over one, or had `requires_grad` turned on."""
        found = set()
        for node in _in_scope(scope):
            value, targets = None, []
            if isinstance(node, ast.Assign):
                value, targets = node.value, node.targets
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None:
                value, targets = node.value, [node.target]
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                value, targets = node.iter, [node.target]
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                value, targets = node.context_expr, [node.optional_vars]
            elif isinstance(node, ast.Call) and _turns_requires_grad_on(node) and isinstance(node.func, ast.Attribute):
                value, targets = node, [node.func.value]  # `x.requires_grad_()`: x is a tensor from here on
            if value is not None and self.is_tensor(value):
                found.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
            if isinstance(node, ast.Assign) and any(_requires_grad_target(t) for t in node.targets) \
                    and _truthy(node.value) is not False:
                found.update(t.value.id for t in node.targets
                             if _requires_grad_target(t) and isinstance(t.value, ast.Name))
        return found


def _requires_grad_target(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "requires_grad"


def _turns_requires_grad_on(call: ast.Call, parameter: bool = False) -> bool | None:
    """True if a call evidently turns requires_grad on (`x.requires_grad_()`, `requires_grad=True`,
    a `Parameter` made, which requires grad by default), None if it does by a value computed at run
    time, False if it does not."""
    flag = next((k.value for k in call.keywords if k.arg == "requires_grad"), None)
    if isinstance(call.func, ast.Attribute) and call.func.attr == "requires_grad_":
        flag = call.args[0] if call.args else flag
        return True if flag is None else _truthy(flag)
    if parameter:  # Parameter(data, requires_grad=True)
        flag = call.args[1] if len(call.args) > 1 else flag
        return True if flag is None else _truthy(flag)
    return False if flag is None else _truthy(flag)


# the scan ---------------------------------------------------------------------------------------------
class Scan(ast.NodeVisitor):
    """Every finding in one learner cell."""

    def __init__(self, rule: Rule, names: Namespace, answer_cell: bool = False):
        self.rule, self.names, self.answer_cell = rule, names, answer_cell
        self.findings: list[Finding] = []
        # the functions and comprehensions around: (names bound there, those holding tensors)
        self.scopes: list[tuple[set, set]] = []
        self.loops = 0
        self._called: set = set()  # the functions called, by node: a builtin called is not passed around
        self._none_tests: set = set()  # `.grad` / `.grad_fn` only compared with None, by node
        self._tensor_classes: set = set()  # names bound to a tensor's class (`T = type(loss)`)

    def flag(self, node, what: str) -> None:
        self._add(Finding(getattr(node, "lineno", 0), what))

    def review(self, node, what: str) -> None:
        self._add(Finding(getattr(node, "lineno", 0), what, review=True))

    def _add(self, finding: Finding) -> None:
        if finding not in self.findings:  # a function's defaults are seen from both scopes
            self.findings.append(finding)

    # what names hold, scope by scope
    def _known(self, name: str) -> bool:
        for bound, tensors in reversed(self.scopes):
            if name in bound:
                return name in tensors
        return name in self.names.tensors

    def _local(self, name: str) -> bool:
        return any(name in bound for bound, _ in self.scopes)

    @property
    def evidence(self) -> Evidence:
        modules = {k: v for k, v in self.names.modules.items() if not self._local(k)}
        return Evidence(modules, self._known)

    def _enter(self, node):
        """A function, lambda or comprehension: its own names, which of them hold tensors, and
        (for a comprehension) a loop. What Python evaluates in the enclosing scope is scanned there
        first: a function's defaults and decorators, a comprehension's first iterable
        (`def f(m=makemore)` hands the real module in)."""
        comprehension = isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))
        if comprehension:
            self.visit(node.generators[0].iter)
        else:
            for outer in [*node.args.defaults, *(d for d in node.args.kw_defaults if d), *getattr(node, "decorator_list", [])]:
                self.visit(outer)
        bound, tensors = _bound_here(node), set()
        self.scopes.append((bound, tensors))
        if comprehension:
            tensors |= {n.id for g in node.generators if self.evidence.is_tensor(g.iter)
                        for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        else:
            for _ in range(4):  # names depend on names
                tensors |= self.evidence.tensors_bound(node)
        loops, self.loops = self.loops, self.loops + 1 if comprehension else 0
        self.generic_visit(node)
        self.loops = loops
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _enter
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _enter

    def _loop(self, node):
        self.loops += 1
        self.generic_visit(node)
        self.loops -= 1

    visit_For = visit_AsyncFor = visit_While = _loop

    # broke a rule
    def visit_Attribute(self, node):
        self._attribute(node, node.value, node.attr, node.ctx)
        if not dotted(node, self.evidence.modules):  # a whole chain `torch.autograd.grad` is judged once
            self.generic_visit(node)

    def _attribute(self, node, receiver, attr: str, ctx) -> None:
        path = dotted(node, self.evidence.modules)
        through = _autograd_through(node)
        if through and isinstance(ctx, ast.Load) and not path:  # however `torch` was reached
            self.flag(node, f"uses autograd's `{through}`")
        elif attr in CHECKER_GRADIENTS and receiver is not None and not (
                isinstance(receiver, ast.Name) and receiver.id in ("self", "cls")):
            self.flag(node, f"uses the checker's own gradients (`.{attr}`)")
        elif path and path.startswith("checker.") and attr.startswith("_") and not attr.startswith("__"):
            self.flag(node, f"uses the checker's private `{path}`, where its references are made")
        elif path and _inside(path, AUTOGRAD_MODULES) and path not in AUTOGRAD_MODULES \
                and not _inside(path, self.rule.autograd) and isinstance(ctx, ast.Load) and not _derivative_free(path):
            self.flag(node, f"uses `{path}`")
        elif id(node) in self._none_tests:
            pass  # `x.grad is None`: asking whether autograd ran, which reads no gradient
        elif attr == "grad" and isinstance(ctx, ast.Load) and self.evidence.is_tensor(receiver):
            self.flag(node, "reads `.grad` of a tensor")
        elif attr == "grad_fn" and self.evidence.is_tensor(receiver):
            self.flag(node, "uses autograd's graph (`.grad_fn`)")
        elif attr == "requires_grad" and isinstance(ctx, ast.Store):
            pass  # judged with the value assigned, in visit_Assign
        elif attr in REPORT_FIELDS and isinstance(ctx, ast.Load) and self.loops \
                and not (isinstance(receiver, ast.Name) and receiver.id in ("self", "cls")):
            self.review(node, f"reads a check's report (`.{attr}`) in a loop")

    def visit_Compare(self, node):  # `assert x.grad is None`: a sanity check, not a gradient read
        if all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops) and \
                all(isinstance(c, ast.Constant) and c.value is None for c in node.comparators) and \
                isinstance(node.left, ast.Attribute) and node.left.attr in ("grad", "grad_fn"):
            self._none_tests.add(id(node.left))
        self.generic_visit(node)

    def _tensor_class(self, node) -> bool:
        """`type(t)`, `t.__class__`, `torch.Tensor`, or a name bound to one of them."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type" \
                and len(node.args) == 1:
            return self.evidence.is_tensor(node.args[0])
        if isinstance(node, ast.Attribute) and node.attr == "__class__":
            return self.evidence.is_tensor(node.value)
        if isinstance(node, ast.Name) and node.id in self._tensor_classes:
            return True
        return dotted(node, self.evidence.modules) in TENSOR_CLASSES

    def visit_MatchAs(self, node):  # `case exec:` binds a new `exec`
        if node.name in REBOUND_BUILTINS:
            self.flag(node, f"rebinds the builtin `{node.name}`, which the hidden tests use")
        self.generic_visit(node)

    def _value_builtin(self, node) -> None:
        if isinstance(node.ctx, ast.Store) and node.id in REBOUND_BUILTINS and not self.scopes:
            self.flag(node, f"rebinds the builtin `{node.id}`, which the hidden tests use")
        elif isinstance(node.ctx, ast.Load) and node.id in PASSED_BUILTINS and id(node) not in self._called \
                and not self._local(node.id):
            self.review(node, f"passes the builtin `{node.id}` around as a value")

    def visit_Constant(self, node):  # `vars(makemore)['autograd_gradients']`
        if isinstance(node.value, str) and node.value in CHECKER_GRADIENTS:
            self.flag(node, f"names the checker's own gradients (`{node.value}`)")
        elif isinstance(node.value, str) and node.value in AUTOGRAD_ATTRIBUTE_NAMES:
            # `functools.update_wrapper(w, t, assigned=('grad',))` reads `.grad` with no getattr in sight
            self.review(node, f"names autograd's attribute `{node.value}` as a string")

    def visit_alias(self, node):  # `from checker.lessons.makemore import autograd_gradients as g`
        if node.name.split(".")[-1] in CHECKER_GRADIENTS:
            self.flag(node, f"imports the checker's own gradients (`{node.name}`)")

    def visit_Name(self, node):  # `grad(...)` after `from torch.autograd import grad`
        self._value_builtin(node)
        if self.answer_cell and isinstance(node.ctx, ast.Load) and node.id in self.rule.checks_not_answers \
                and not self._local(node.id):
            self.review(node, f"uses your `{node.id}` in an answer cell: a numerical gradient checks an analytic "
                              f"answer, it is not one")
        if isinstance(node.ctx, ast.Load) and not self._local(node.id):
            self._attribute(node, None, "", node.ctx)

    def visit_Call(self, node):
        func, evidence = node.func, self.evidence
        self._called.add(id(func))
        if isinstance(func, ast.Attribute) and func.attr == "backward" and (
                evidence.is_tensor(func.value) or self._tensor_class(func.value)):
            self.flag(node, "calls `.backward(` on a tensor")
        path = dotted(func, evidence.modules)
        if path and path.startswith("torch") and any("_backward" in part for part in path.split(".")[1:]):
            self.flag(node, f"calls autograd's own derivative `{path}`")
        if isinstance(func, ast.Attribute) and func.attr in HOOKS and evidence.is_tensor(func.value):
            self.flag(node, f"registers a hook that receives autograd's gradients (`.{func.attr}(`)")
        parameter = path in PARAMETERS
        on = _turns_requires_grad_on(node, parameter)
        if on is not False and not self.rule.may_require_grad:
            (self.flag if on else self.review)(node, "turns `requires_grad` on" + (
                " (by a value computed at run time)" if on is None else " (a `Parameter` requires grad)" if parameter else ""))
        if isinstance(func, ast.Name) and not self._local(func.id):
            self._builtin(node, func.id)
        if self.rule.forward_is_unusual and self.answer_cell and path and (
                path.startswith("checker.lessons.") and path.endswith(".forward")
                or path == "torch.nn.functional.cross_entropy"):
            self.review(node, f"runs the lesson's forward pass (`{ast.unparse(func)}(`): numerical differentiation looks like that")
        self._magic(node)
        self.generic_visit(node)

    def visit_Assign(self, node):
        if self._tensor_class(node.value):
            self._tensor_classes.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if any(_requires_grad_target(t) for t in node.targets) and not self.rule.may_require_grad:
            on = _truthy(node.value)
            if on is None:
                self.review(node, "turns `requires_grad` on (by a value computed at run time)")
            elif on:
                self.flag(node, "turns `requires_grad` on")
        self.generic_visit(node)

    def visit_MatchClass(self, node):  # `case torch.Tensor(grad=g)` reads `.grad` without an Attribute
        if "grad" in node.kwd_attrs and self.evidence.is_tensor(node.cls):
            self.flag(node, "reads `.grad` of a tensor")
        self.generic_visit(node)

    # for review: code and names made at run time, magics
    def _builtin(self, node, name: str) -> None:
        first = node.args[0] if node.args else None
        if name in RUNS_CODE and first is not None:
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self._inner(node, first.value)
            else:
                self.review(node, f"runs code made at run time (`{name}`)")
        elif name in NAMES_ATTRIBUTE and len(node.args) >= 2:
            attribute = node.args[1]
            if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str):
                ctx = ast.Load() if name == "getattr" else ast.Store()
                self._attribute(ast.Attribute(value=first, attr=attribute.value, ctx=ctx, lineno=node.lineno),
                                first, attribute.value, ctx)
                if name == "setattr" and attribute.value == "requires_grad" and len(node.args) > 2:
                    self.visit_Assign(ast.Assign(targets=[ast.Attribute(value=first, attr="requires_grad", ctx=ast.Store())],
                                                 value=node.args[2], lineno=node.lineno))
            else:
                self.review(node, f"`{name}` with a name made at run time")

    def _magic(self, node) -> None:
        magic = _ipython_call(node)
        if magic is None:
            return
        kind, name, code = magic
        if kind in ("run_line_magic", "run_cell_magic") and name in CODE_MAGICS:
            self._inner(node, code)
        elif kind == "run_line_magic" and name in HARMLESS_MAGICS:
            pass
        elif kind in ("system", "getoutput"):
            self.review(node, "runs a shell command")
        else:
            self.review(node, f"uses the IPython magic `%{name}`")

    def _inner(self, node, code: str) -> None:
        """Code held in a string (`exec("...")`, `%timeit ...`), scanned as code at the line it is on."""
        inner = parse(code)
        if inner is not None:
            for f in Scan(self.rule, self.names, self.answer_cell).all(inner):
                self.findings.append(Finding(node.lineno + f.line - 1, f.what, f.review))

    def all(self, tree) -> list[Finding]:
        self.visit(tree)
        return sorted(self.findings, key=lambda f: (f.line, f.review))


def _ipython_call(node: ast.Call):
    """(method, magic name, its code) for `get_ipython().method('name', ...)`, else None."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython"):
        return None
    strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if func.attr in ("system", "getoutput"):
        return func.attr, "", ""
    if func.attr == "run_line_magic" and len(strings) == 2:
        return func.attr, strings[0], _without_timing_options(strings[1])
    if func.attr == "run_cell_magic" and len(strings) == 3:
        return func.attr, strings[0], _without_timing_options(strings[1]) + "\n" + strings[2]
    return func.attr, strings[0] if strings else "?", ""


def _without_timing_options(line: str) -> str:
    """`-n 3 -r 2 f(x)` -> `f(x)`: %timeit's options before its code."""
    return re.sub(r"^\s*((-[nrp]\s*\d+|-[tcqo])\s+)*", "", line)


def python_of(source: str) -> str:
    """A cell as the Python IPython runs: `%magic` and `!shell` become `get_ipython()` calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # plain Python: a cell is what it says
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # IPython cannot read it either: it fails on its own when run
        return source


class _PlainAttributes(ast.NodeTransformer):
    """`getattr(x, "name")`, `vars(x)["name"]`, `x.__dict__["name"]`, `x.__getattribute__("name")` and
    `operator.attrgetter("name")(x)` read as the `x.name` they are, so aliases and paths through them are judged as written plainly
    (`ag = getattr(torch, "autograd")` is `ag = torch.autograd`)."""

    def visit_Call(self, node):
        self.generic_visit(node)
        func, args = node.func, node.args
        getter = func.args[0] if isinstance(func, ast.Call) and _is_attrgetter(func.func) and len(func.args) == 1 \
            and len(args) == 1 else None  # `operator.attrgetter("a.b")(x)` is `x.a.b`
        if isinstance(getter, ast.Constant) and isinstance(getter.value, str) \
                and all(part.isidentifier() for part in getter.value.split(".")):
            read = args[0]
            for part in getter.value.split("."):
                read = ast.Attribute(value=read, attr=part, ctx=ast.Load())
            return ast.copy_location(read, node)
        name = args[1] if isinstance(func, ast.Name) and func.id == "getattr" and len(args) == 2 and not node.keywords \
            else args[0] if isinstance(func, ast.Attribute) and func.attr == "__getattribute__" and len(args) == 1 else None
        if isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.isidentifier():
            receiver = args[0] if isinstance(func, ast.Name) else func.value
            return ast.copy_location(ast.Attribute(value=receiver, attr=name.value, ctx=ast.Load()), node)
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        value, key = node.value, node.slice
        of = value.args[0] if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "vars" \
            and len(value.args) == 1 else value.value if isinstance(value, ast.Attribute) and value.attr == "__dict__" else None
        if of is not None and isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.isidentifier():
            return ast.copy_location(ast.Attribute(value=of, attr=key.value, ctx=node.ctx), node)
        return node


def _is_attrgetter(node) -> bool:
    return isinstance(node, ast.Name) and node.id == "attrgetter" or \
        isinstance(node, ast.Attribute) and node.attr == "attrgetter"


def _tree(source: str) -> ast.AST | None:
    try:
        return _PlainAttributes().visit(ast.parse(source))
    except SyntaxError:
        return None


@functools.lru_cache(maxsize=1024)  # every check scans the kernel's history again; nothing edits a tree
def parse(source: str) -> ast.AST | None:
    """The cell as Python: as it is (keeping its line numbers), else as IPython runs it; None when
    neither parses (it fails on its own when run, before any of it runs)."""
    return _tree(source) or _tree(python_of(source))


def scan_code(source: str, rule: Rule = Rule(), names: Namespace | None = None,
              answer_cell: bool = False) -> list[Finding]:
    """Every finding in `source`, by line: what breaks a rule and what is for review."""
    tree = parse(source)
    if tree is None:
        return []
    return Scan(rule, names or namespace([], [source]), answer_cell).all(tree)


# cells and notebooks ------------------------------------------------------------------------------
def is_course_cell(cell) -> bool:
    """The course's own cells are locked: nbgrader restores them before grading."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("locked"))


@functools.lru_cache(maxsize=8)
def _course_sources(course: tuple) -> frozenset:
    """The course's cells as written and as IPython runs them (a kernel's history holds the latter)."""
    return frozenset({c.strip() for c in course} | {python_of(c).strip() for c in course})


def findings(course: list[str], candidates: list[str], lesson: str | None, answer_cells=frozenset()) -> list:
    """(index in `candidates`, finding) for every finding in the learner's candidates; a candidate whose
    source is a course cell's is the course's. The one scan behind grading and the learner's checks."""
    known = _course_sources(tuple(course))
    learner = [(i, s) for i, s in enumerate(candidates) if s.strip() and s.strip() not in known]
    found = _learner_findings(tuple(course), tuple(s for _, s in learner), lesson,
                              frozenset(k for k, (i, _) in enumerate(learner) if i in answer_cells))
    return [(learner[k][0], f) for k, f in found]


@functools.lru_cache(maxsize=16)  # a check cell adds only a course cell: the learner's cells are as before
def _learner_findings(course: tuple, learner: tuple, lesson: str | None, answer_positions: frozenset) -> tuple:
    """(position in `learner`, finding) for every finding in the learner's cells."""
    rule, names = rule_for(lesson), namespace(list(course), list(learner))
    return tuple((k, f) for k, s in enumerate(learner) for f in scan_code(s, rule, names, k in answer_positions))


def offenses(course: list[str], candidates: list[str], lesson: str | None) -> list[tuple[int, Finding]]:
    """(index, first finding that breaks a rule) for each candidate that breaks one."""
    first = {}
    for i, f in findings(course, candidates, lesson):
        if not f.review:
            first.setdefault(i, f)
    return sorted(first.items())


@dataclass
class Verdict:
    broke: tuple | None = None  # (cell index, grade_id or None, Finding): the first learner cell that broke a rule
    review: list = field(default_factory=list)  # (cell index, grade_id or None, Finding)

    def where(self, index: int, grade_id: str | None) -> str:
        return grade_id or f"cell {index + 1}"


def judge(cells, lesson: str | None, refusals=(), course_ids=None) -> Verdict:
    """What the rules find in a notebook's learner cells (answer cells and any cells added), and in
    `refusals`: what the grading kernel's guard refused, as dicts with `event`, `detail`, `line` and
    the `cell` index or the `execution_count` of the cell that ran it (`defined_index`: the cell whose
    code was refused, which counts when it is the learner's, whoever called it). `course_ids`, the grade_ids
    of the course's locked cells read from the lesson's source, decides which cells are the course's
    (a learner can mark an answer cell locked in their copy); without it, the cell's own metadata."""
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    ours = is_course_cell if course_ids is None else (
        lambda c: is_course_cell(c) and c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in course_ids)
    course = [c["source"] for _, c in code if ours(c)]
    candidates = [(i, c) for i, c in code if not ours(c)]
    meta = lambda c: c.get("metadata", {}).get("nbgrader", {})
    answers = frozenset(k for k, (_, c) in enumerate(candidates) if meta(c).get("solution"))
    verdict, broken = Verdict(), []
    for k, f in findings(course, [c["source"] for _, c in candidates], lesson, answers):
        index, cell = candidates[k]
        (verdict.review if f.review else broken).append((index, meta(cell).get("grade_id"), f))
    learner_cells = {i for i, _ in candidates}
    for refusal in refusals:
        index = _refusal_cell(cells, refusal)
        if refusal.get("defined_index") in learner_cells:  # a learner's function, whichever cell called it
            index = refusal["defined_index"]
        if index in learner_cells:  # the course's own cells may use autograd
            what = refusal.get("event", "was refused") + (f" ({refusal['detail']})" if refusal.get("detail") else "")
            # a magic's {...} is expanded by IPython itself, so its refusal may be an innocent dict
            # literal under %timeit: unusual, not evidence
            unusual = bool(MAGIC_LINE.search(str(refusal.get("source", ""))))
            found = Finding(int(refusal.get("line") or 0), f"ran code the grading kernel refused: {what}", review=unusual)
            (verdict.review if unusual else broken).append((index, meta(cells[index]).get("grade_id"), found))
    verdict.broke = min(broken, key=lambda b: (b[0], b[2].line), default=None)
    return verdict


def _refusal_cell(cells, refusal: dict) -> int | None:
    if isinstance(refusal.get("cell_index"), int):  # the guard's record, placed by CourseExecute
        return refusal["cell_index"]
    if isinstance(refusal.get("cell"), int) and "cell_index" not in refusal:
        return refusal["cell"]
    count = refusal.get("execution_count")
    return next((i for i, c in enumerate(cells) if count is not None and c.get("execution_count") == count), None)


def flag_reason(verdict: Verdict, lesson: str | None) -> str | None:
    if verdict.broke is None:
        return None
    index, grade_id, finding = verdict.broke
    return (f"{verdict.where(index, grade_id)} {finding}; {rule_for(lesson).what}, "
            "so checks from there on earn no points")


def review_reasons(verdict: Verdict) -> list[str]:
    return [f"{verdict.where(i, g)} {f}" for i, g, f in verdict.review]


def flagged_checks(cells, lesson: str | None, refusals=()) -> dict:
    """{grade_id: reason} for every graded cell at or after the first learner cell that breaks a rule:
    only those checks can have been influenced by it, and they earn no points."""
    verdict = judge(cells, lesson, refusals)
    reason = flag_reason(verdict, lesson)
    if reason is None:
        return {}
    return {c["metadata"]["nbgrader"]["grade_id"]: reason for c in cells[verdict.broke[0]:]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}
