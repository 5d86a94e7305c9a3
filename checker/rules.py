"""What a learner's own cells may use, lesson by lesson, and the scan that finds anything else.

An allowlist, read from the code and never run: a learner's cells (answer cells and any cells they
add) may import only the lesson's modules, call only ordinary builtins, reach only the lesson's
modules through attributes, use the checker's objects only through what the lesson hands out
(`ex.check`, `ex.given`, `setup.Xb`, ...), and never rebind or patch them. On top of that, autograd
itself is named: `.grad`, `.backward(`, `requires_grad`, `grad_fn`, ... Ordinary Python stays
allowed: loops, helpers, lambdas, comprehensions, classes, `print`, f-strings, `_private` names.

The same scan runs in the grader, on the submitted notebook, and in the learner's kernel when
they check an answer, so nobody hears of a rule first from their grade. Attribute chains that
start at a module (`torch.os.environ`, `F.torch.autograd.grad`) are followed through the real
modules, in this process, to see where they lead; the learner's code is never run here.
"""

import ast
import builtins
import functools
import importlib
import re
import string
import types
from dataclasses import dataclass, field

CHECKER = "checker"

# Builtins a learner may call; every other builtin (exec, eval, open, getattr, vars, globals,
# __import__, breakpoint, input, ...) reaches around the rules.
SAFE_BUILTINS = frozenset("""
abs all any ascii bin bool bytearray bytes callable chr classmethod complex dict dir divmod enumerate
filter float format frozenset hash help hex id int isinstance issubclass iter len list map max min next
object oct ord pow print property range repr reversed round set slice sorted staticmethod str sum
super tuple type zip NotImplemented Ellipsis
""".split()) | {name for name, value in vars(builtins).items()
                if isinstance(value, type) and issubclass(value, BaseException)}

GUARDED_BUILTINS = frozenset({"exec", "eval", "compile", "open", "getattr", "setattr", "delattr", "hasattr",
                              "globals", "locals", "vars", "__import__", "__build_class__"})

# Dunder attributes that are operators and protocols (`other.__mul__(self)`, `super().__init__()`);
# every other one (`__dict__`, `__class__`, `__globals__`, `__path__`, ...) is introspection.
OPERATOR_DUNDERS = frozenset(f"__{name}__" for name in """
init call repr str len getitem setitem contains iter next bool eq ne lt le gt ge hash neg pos abs
add radd iadd sub rsub isub mul rmul imul truediv rtruediv itruediv floordiv rfloordiv pow rpow
ipow matmul rmatmul mod rmod
""".split())

# Attributes that read autograd's answers, on any object.
AUTOGRAD_ATTRIBUTES = {
    "grad": "`.grad`", "backward": "`.backward(`", "retain_grad": "`retain_grad`",
    "retains_grad": "`retains_grad`", "requires_grad": "`requires_grad`",
    "requires_grad_": "`requires_grad_`", "grad_fn": "`grad_fn`", "next_functions": "`next_functions`",
    "register_hook": "a gradient hook", "register_post_accumulate_grad_hook": "a gradient hook",
    "is_leaf": "`is_leaf`",
}
# Reading or writing files, whichever module offers it.
FILE_ATTRIBUTES = frozenset("""
load save from_file fromfile tofile loadtxt savetxt genfromtxt memmap savez savez_compressed open
savefig imsave imread
""".split())
# A check's report read as values: with them, the exercise becomes an oracle that finds the answer
# element by element (set the reported worst element to the reported difference, ask again). A
# report is for reading on the screen: `ex.preview`, `ex.check`, `ex.summary()` shown.
REPORT_ATTRIBUTES = frozenset({"checks", "maxdiff", "your_error", "pytorch_error", "reason", "details"})
# Where what a module offers comes from, when it is not theirs to use (torch.enable_grad lives in
# torch.autograd.grad_mode, torch.vmap in torch._functorch, torch.load in torch.serialization).
FORBIDDEN_ORIGINS = ("torch.autograd", "torch.func", "torch._functorch", "torch.nn.modules",
                     "torch.nn.parameter", "torch.serialization", "torch.hub", "torch.jit", "torch._ops",
                     "torch.library", "torch.utils", "torch.fx", "torch.distributed", "torch.multiprocessing",
                     "torch._dynamo", "numpy.lib", "functorch")
# ...except these, which are harmless and which learners do write.
HARMLESS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.grad_mode.no_grad",
                      "torch.autograd.grad_mode.inference_mode"})

# Modules every lesson that uses PyTorch lets a learner import and reach.
TENSOR_MODULES = frozenset({
    "torch", "torch.nn.functional", "torch.linalg", "torch.fft", "torch.special", "torch.functional",
    "torch.random", "torch.testing", "torch.return_types",
    "numpy", "numpy.linalg", "numpy.random", "math", "random", "itertools", "functools", "collections",
    "statistics", "time", "matplotlib", "matplotlib.pyplot",
})

# What the checker hands out on purpose. The exercise `ex` and the lesson's `setup` are the two
# objects every lesson builds; modules of the checker are listed with what a learner may use of them.
CHECKER_OBJECTS = {
    "ex": frozenset({"check", "preview", "plot", "summary", "hint", "given", "gradient_names",
                     "title", "batch_size", "ready"}),
    "setup": None,  # any public attribute, read only: the lesson's data and parameters
}
CHECKER_MODULES = {
    "checker": frozenset({"cmp", "show", "source", "compare", "Scoreboard", "Status", "Check", "CheckFailed",
                          "load_names", "load_digits"}),
    "checker.environment": frozenset({"generator", "fast_mode", "seed_from_env"}),
    "checker.learner_code": frozenset({"call"}),
    "checker.lessons.makemore": frozenset({
        "MakemoreSetup", "forward", "PARAMETER_NAMES", "INTERMEDIATE_NAMES", "N_EMBD", "N_HIDDEN",
        "BLOCK_SIZE", "BATCH_SIZE", "BN_EPS", "Vocabulary", "build_dataset"}),
    "checker.lessons.training": frozenset({
        "forward", "N_HIDDEN", "max_steps", "learning_rate", "manual_step", "evaluate",
        "calibrate_batchnorm", "sample_names", "copy_parameters", "unpack_gradients", "fast_mode"}),
    "checker.lessons.timing": frozenset({"median_step_times"}),
    "checker.lessons.digits_mlp": frozenset({"lin", "relu", "mse"}),
    # The other lessons' modules, bound by their course cells: what a learner may call again in a
    # cell of their own. Not the helpers that compute gradients or answers (autograd_references,
    # softmax_jacobian, topological_order, roc_area, ...): a checker module's other names are refused.
    "checker.lessons.chain_rule": frozenset({
        "ChainRuleSetup", "SMOOTHING", "FOCAL_GAMMA", "focal_loss", "soft_cross_entropy", "multiclass_hinge",
        "check_by_hand", "show_jacobian", "lesson_summary", "block_exercise", "scalar_exercise", "graph_exercise",
        "dot_exercise", "outer_exercise", "matvec_exercise", "matmul_exercise", "softmax_jacobian_exercise",
        "softmax_exercise", "cross_entropy_exercise", "batch_cross_entropy_exercise", "soft_cross_entropy_exercise",
        "focal_exercise", "focal_gamma0_exercise", "hinge_exercise", "mse_exercise"}),
    "checker.lessons.scalar_engine": frozenset({
        "engine_exercise", "draw_graph", "graph_size", "compare_with_torch", "parabola_data", "plot_fit",
        "plot_scaling", "NEURON_FORMULA"}),
    "checker.lessons.digits_evaluation": frozenset({"evaluation_exercise", "samples", "THRESHOLD"}),
    "checker.lessons.capstone": frozenset({
        "functions_exercise", "gradcheck_report", "mlp_exercise", "plot_loss_curves", "train_steps"}),
}
# IPython's own names in a kernel (its history, its outputs, the shell itself).
IPYTHON_NAMES = frozenset({"get_ipython", "In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii",
                           "exit", "quit", "display"})
# Magics whose argument is Python, scanned as such; magics that only show things; any other magic
# (`%env`, `%run`, `%%writefile`, ...) or `!shell` is refused.
CODE_MAGICS = frozenset({"timeit", "time"})
HARMLESS_MAGICS = frozenset({"matplotlib", "pinfo", "pinfo2", "who", "whos", "pdoc", "pdef"})


@dataclass(frozen=True)
class Rule:
    """What a lesson's learner cells may use. `what` says why, in the report and the grade."""

    what: str = "this course's answers must be derived by hand"
    modules: frozenset = TENSOR_MODULES
    autograd_words: bool = False  # `.grad`, `.backward(` are the lesson's own (the scalar engine)
    private_attributes_anywhere: bool = False  # `v._prev`, `out._backward` (the scalar engine)
    allowed: frozenset = field(default_factory=frozenset)  # dotted names allowed by name


RULES = {
    "02_scalar_autograd_engine": Rule(
        what="the engine is yours, in pure Python",
        modules=frozenset({"math", "random", "itertools", "functools", "collections", "time",
                           "matplotlib", "matplotlib.pyplot"}),
        autograd_words=True, private_attributes_anywhere=True),
    "08_capstone_autograd_function": Rule(
        what="a Function's backward must be derived by hand",
        allowed=frozenset({"torch.autograd.Function", "torch.autograd.function.Function"})),
}
DEFAULT_RULE = Rule()


def rule_for(lesson: str | None) -> Rule:
    return RULES.get(lesson or "", DEFAULT_RULE)


@dataclass(frozen=True)
class Finding:
    line: int
    what: str  # "uses `.grad`", "imports `os`", ...

    def __str__(self):
        return f"line {self.line} {self.what}"


# The checker's functions that build an exercise: chain_rule.dot_exercise, makemore.exercise1, ...
EXERCISE_FACTORY = re.compile(r"(\w+_)?exercise\d*")


def _called_name(func) -> str:
    """The last name of what a call calls: `chain_rule.dot_exercise(...)` -> 'dot_exercise'."""
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


@dataclass
class Namespace:
    """The names a notebook binds, so the scan knows what `torch`, `ex` or `F` stand for."""

    modules: dict = field(default_factory=dict)  # name -> dotted module name
    checker_names: set = field(default_factory=set)  # names bound to the checker's modules or objects
    exercises: set = field(default_factory=set)  # other names of the course's exercises: `ex_dot`, `ex_modules`
    bound: set = field(default_factory=set)  # the names any cell binds at its top level

    def learn(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    # the first binding is the course's (course cells are learnt first)
                    if alias.asname:
                        self.modules.setdefault(alias.asname, alias.name)
                    else:
                        self.modules.setdefault(alias.name.split(".")[0], alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if isinstance(_resolve_module(full), types.ModuleType):
                        self.modules.setdefault(alias.asname or alias.name, full)
            if isinstance(node, ast.Global):  # `global x` in a function binds the module's x
                self.bound.update(node.names)
        self.bound.update(scope_bindings(tree))

    def course_objects(self, course_tree: ast.AST) -> None:
        """Names the course's own cells bind to the checker: its modules, `ex`, `setup`."""
        for node in ast.walk(course_tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == CHECKER:
                self.checker_names.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                self.checker_names.update(alias.asname or alias.name.split(".")[0] for alias in node.names
                                          if alias.name.split(".")[0] == CHECKER)
        self.checker_names.update(name for name in CHECKER_OBJECTS if name in self.bound)
        for node in ast.walk(course_tree):  # `ex_dot = chain_rule.dot_exercise(setup)`: an `ex` by another name
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                    EXERCISE_FACTORY.fullmatch(_called_name(node.value.func)):
                self.exercises.update(t.id for t in node.targets if isinstance(t, ast.Name) and t.id != "ex")


def _guarded_builtin(name: str) -> bool:
    """Builtins that run or read code may not be replaced: the grader's hidden tests call `exec`
    and `open` in the learner's namespace. (`sum = 0` or `input = x` stay allowed.)"""
    return name in GUARDED_BUILTINS


NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                 ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _in_scope(scope):
    """The nodes that run in `scope` itself: not inside the functions, classes and comprehensions
    it holds (whose own nodes are yielded, for their names)."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, NESTED_SCOPES):
            todo.extend(ast.iter_child_nodes(node))


def scope_bindings(scope) -> set:
    """The names a module, function, class or comprehension binds in its own scope."""
    names = set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = scope.args
        names.update(a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs)
        names.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a)
    if isinstance(scope, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return {n.id for g in scope.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
    declared = set()
    for node in _in_scope(scope):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
    if isinstance(scope, ast.Module):
        return names
    return names - declared


def _resolve_module(dotted: str):
    """The real object `dotted` names (a module, or an attribute of one), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # not a module (or it fails to import): try a shorter prefix
            continue
        for part in parts[cut:]:
            try:
                obj = getattr(obj, part)
            except Exception:
                return None
        return obj
    return None


def _origin(obj) -> str:
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", "")
    return f"{module}.{name}" if isinstance(module, str) and isinstance(name, str) else ""


class Scan(ast.NodeVisitor):
    """The first use of anything a rule does not allow, in one learner cell."""

    def __init__(self, rule: Rule, names: Namespace):
        self.rule, self.names = rule, names
        self.findings: list[Finding] = []
        self.scopes: list[tuple[ast.AST, set]] = []  # the functions, classes, comprehensions around
        self.inside_chain: set[int] = set()
        self.chain_roots: set[int] = set()  # Name nodes that start an attribute chain  # Attribute nodes already judged as part of a longer chain

    def flag(self, node, what: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 0), what))

    # imports -------------------------------------------------------------------------------
    def visit_Import(self, node):
        for alias in node.names:
            self._import(node, alias.name, alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node):
        if node.level or not node.module:
            return self.flag(node, "uses a relative import")
        for alias in node.names:
            if alias.name == "*":
                self.flag(node, f"imports everything from `{node.module}`")
            elif f"{node.module}.{alias.name}" in self.rule.allowed:
                pass
            elif node.module in CHECKER_MODULES or node.module.split(".")[0] == CHECKER:
                if alias.name not in CHECKER_MODULES.get(node.module, ()):
                    self.flag(node, f"imports `{alias.name}` from the checker's `{node.module}`")
            elif self._module_allowed(node.module):
                self._object(node, f"{node.module}.{alias.name}", _resolve_module(f"{node.module}.{alias.name}"))
            else:
                self.flag(node, f"imports `{node.module}`")
            self._rebinding(node, alias.asname or alias.name, f"{node.module}.{alias.name}")

    def _import(self, node, module: str, bound: str) -> None:
        if module.split(".")[0] == CHECKER:
            self.flag(node, f"imports the checker's `{module}`")
        elif not self._module_allowed(module):
            self.flag(node, f"imports `{module}`")
        self._rebinding(node, bound, module if bound != module.split(".")[0] else bound)

    def _module_allowed(self, module: str) -> bool:
        return module in self.rule.modules or module in self.rule.allowed

    def _rebinding(self, node, name: str, now: str) -> None:
        """An import may bind a name again to what it already is (`import torch` twice), nothing else."""
        if self._is_local(name):
            return
        if _guarded_builtin(name) or name in self.names.checker_names or (name in self.names.modules and self.names.modules[name] != now
                                                 and self.names.modules[name] in self.rule.modules):
            self.flag(node, f"binds `{name}` to something else")

    # names and scopes ----------------------------------------------------------------------
    def _is_local(self, name: str) -> bool:
        """Bound in the function (or comprehension) the scan is in, or one around it: then it is
        the learner's own, whatever builtin or module it shares a name with. A class body's
        names are seen only inside the class body itself."""
        for depth, (scope, names) in enumerate(reversed(self.scopes)):
            if name in names and (depth == 0 or not isinstance(scope, ast.ClassDef)):
                return True
        return False

    def _enter(self, node):
        self.scopes.append((node, scope_bindings(node)))
        self.generic_visit(node)
        self.scopes.pop()

    def visit_FunctionDef(self, node):
        if not self._is_local(node.name):
            self._rebinds(node, node.name)
        self._enter(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef
    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _enter

    def _rebinds(self, node, name: str) -> None:
        if _guarded_builtin(name):
            self.flag(node, f"rebinds the builtin `{name}`")
        elif name in self.names.checker_names:
            self.flag(node, f"rebinds the checker's `{name}`")
        elif name in self.names.modules and self.names.modules[name] in self.rule.modules | {CHECKER}:
            self.flag(node, f"rebinds the module `{name}`")

    def visit_Name(self, node):
        name = node.id
        if self._is_local(name):
            return
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            return self._rebinds(node, name)
        if name in self.names.bound:
            module = self.names.modules.get(name)
            if module and module not in self.rule.modules and module not in CHECKER_MODULES \
                    and name not in self.names.checker_names:
                self.flag(node, f"uses the module `{module}`")
            elif module and id(node) not in self.chain_roots:
                # a module handed around as a value (`f(torch)`, `T = torch`) would take its
                # attributes out of the scan's sight
                self.flag(node, f"uses the module `{name}` as a value")
            return
        if name.startswith("__") and name.endswith("__") and name != "__name__":
            self.flag(node, f"uses `{name}`")
        elif name in IPYTHON_NAMES:
            self.flag(node, f"uses IPython's `{name}`")
        elif hasattr(builtins, name) and name not in SAFE_BUILTINS:
            self.flag(node, f"uses `{name}`")

    def visit_MatchClass(self, node):  # `case Tensor(grad=g)` reads `.grad` without an Attribute
        for attr in node.kwd_attrs:
            self._attribute_name(node, attr)
        self.generic_visit(node)

    # attributes ----------------------------------------------------------------------------
    def visit_Attribute(self, node):
        if id(node) not in self.inside_chain:
            self._chain(node)
        on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        self._attribute_name(node, node.attr, on_self)
        self.generic_visit(node)

    def _attribute_name(self, node, attr: str, on_self: bool = False) -> None:
        if attr.startswith("__") and attr.endswith("__"):
            if attr not in OPERATOR_DUNDERS:
                self.flag(node, f"uses `.{attr}`")
        elif attr.startswith("_"):
            if not (on_self or self.rule.private_attributes_anywhere):
                self.flag(node, f"uses the private attribute `.{attr}`")
        elif attr in AUTOGRAD_ATTRIBUTES and not self.rule.autograd_words:
            self.flag(node, f"uses {AUTOGRAD_ATTRIBUTES[attr]}")
        elif attr in REPORT_ATTRIBUTES and not on_self:  # a learner's own class may call its fields so
            self.flag(node, f"reads a check's report as a value (`.{attr}`)")
        elif attr in FILE_ATTRIBUTES:
            self.flag(node, f"uses `.{attr}` (files)")

    def _chain(self, node) -> None:
        """An attribute chain `root.a.b.c`: judged as a whole when its root is a module or a
        checker object."""
        parts, inner = [], node
        while isinstance(inner, ast.Attribute):
            parts.append(inner.attr)
            self.inside_chain.add(id(inner))
            inner = inner.value
        if not isinstance(inner, ast.Name):
            return
        self.chain_roots.add(id(inner))
        parts.reverse()
        root = inner.id
        if self._is_local(root):  # a parameter or local of the learner's own function
            return
        writes = isinstance(node.ctx, (ast.Store, ast.Del))
        if (root in self.names.checker_names and root in CHECKER_OBJECTS) or root in self.names.exercises:
            api = CHECKER_OBJECTS.get(root, CHECKER_OBJECTS["ex"])
            if writes:
                self.flag(node, f"changes the checker's `{root}.{'.'.join(parts)}`")
            elif api is not None and parts[0] not in api:
                self.flag(node, f"uses `{root}.{parts[0]}`, which the lesson does not hand out")
            return
        module = self.names.modules.get(root)
        if module is None:
            return
        if writes:
            return self.flag(node, f"changes the module attribute `{root}.{'.'.join(parts)}`")
        self._module_chain(node, module, parts)

    def _module_chain(self, node, module: str, parts: list) -> None:
        """Follow `module.a.b` through the real modules: every module it passes must be one the
        lesson allows (or lead on to one: `torch.nn` on the way to `torch.nn.functional`), and what
        it ends at must not come from autograd's or the file system's side of a module."""
        dotted = module
        for index, part in enumerate(parts):
            if dotted in CHECKER_MODULES:
                if part not in CHECKER_MODULES[dotted]:
                    self.flag(node, f"uses the checker's `{dotted}.{part}`")
                return
            if dotted.split(".")[0] == CHECKER and not any(key.startswith(f"{dotted}.{part}") for key in CHECKER_MODULES):
                # a part of the checker that hands nothing out (its references, its grading)
                return self.flag(node, f"uses the checker's `{dotted}.{part}`")
            dotted = f"{dotted}.{part}"
            if dotted in self.rule.allowed:
                return
            obj = _resolve_module(dotted)
            if isinstance(obj, types.ModuleType) and index + 1 == len(parts) and dotted not in self.rule.allowed:
                return self.flag(node, f"uses the module `{dotted}` as a value")
            if isinstance(obj, types.ModuleType):
                name = obj.__name__
                deeper = f"{name}.{parts[index + 1]}" if index + 1 < len(parts) else None
                on_the_way = deeper and any(allowed == deeper or allowed.startswith(deeper + ".")
                                            for allowed in self.rule.modules | self.rule.allowed)
                if name not in self.rule.modules and name not in CHECKER_MODULES and not on_the_way:
                    if name == dotted:
                        return self.flag(node, f"uses the module `{name}`")
                    return self.flag(node, f"reaches the module `{name}` through `{dotted}`")
                dotted = name
            elif obj is not None and not self._object(node, dotted, obj):
                return

    def _object(self, node, dotted: str, obj) -> bool:
        """False (and flagged) when `obj`, found at `dotted`, comes from a forbidden place."""
        origin = _origin(obj)
        if dotted in self.rule.allowed or origin in self.rule.allowed or origin in HARMLESS or dotted in HARMLESS:
            return True
        if any(origin == prefix or origin.startswith(prefix + ".") for prefix in FORBIDDEN_ORIGINS):
            self.flag(node, f"uses `{dotted}` (from `{origin.rsplit('.', 1)[0]}`)")
            return False
        if isinstance(obj, types.ModuleType) and obj.__name__ not in self.rule.modules:
            self.flag(node, f"uses the module `{obj.__name__}`")
            return False
        return True

    # IPython's magics and shell escapes ------------------------------------------------------
    def visit_Call(self, node):
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "format_map"):
            self._format_fields(node)
        magic = _ipython_call(node)
        if magic is None:
            return self.generic_visit(node)
        kind, name, code = magic
        if kind in ("run_line_magic", "run_cell_magic") and name in CODE_MAGICS:
            inner = parse(code)
            if inner is not None:
                for finding in Scan(self.rule, self.names).all(inner):
                    self.findings.append(Finding(node.lineno + finding.line - 1, finding.what))
        elif kind == "run_line_magic" and name in HARMLESS_MAGICS:
            pass
        elif kind in ("system", "getoutput"):
            self.flag(node, "runs a shell command")
        elif kind in ("run_line_magic", "run_cell_magic"):
            self.flag(node, f"uses the IPython magic `%{name}`")
        else:
            self.flag(node, f"uses IPython's `get_ipython().{kind}`")

    def _format_fields(self, node) -> None:
        """`"{0._references}".format(ex)` reads an attribute the scan never sees as one: a format
        string's fields may name a value, never an attribute or an item of it."""
        receiver = node.func.value
        if isinstance(receiver, ast.Name) and receiver.id == "str" and node.args:
            receiver = node.args[0]  # str.format(template, ...)
        if not (isinstance(receiver, ast.Constant) and isinstance(receiver.value, str)):
            return self.flag(node, f"uses `.{node.func.attr}` with a template built at run time "
                                   "(its fields could read any attribute); write the template out, or use an f-string")
        field = _field_with_access(receiver.value)
        if field is not None:
            self.flag(node, f"reads `{{{field}}}` through a format string")

    def all(self, tree) -> list[Finding]:
        self.visit(tree)
        return self.findings

    def first(self, tree) -> Finding | None:
        found = self.all(tree)
        return min(found, key=lambda f: f.line) if found else None


def _field_with_access(template: str) -> str | None:
    """The first replacement field of a format string that reads an attribute or an item (`0.grad`,
    `0[key]`), in its format spec too; None if there is none (or the template is not valid)."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return None  # it raises when run
    for _, name, spec, _ in fields:
        if name and ("." in name or "[" in name):
            return name
        inner = _field_with_access(spec) if spec else None
        if inner is not None:
            return inner
    return None


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


def parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(source)  # plain Python is run as it is (and keeps its line numbers)
    except SyntaxError:
        pass
    try:
        return ast.parse(python_of(source))
    except SyntaxError:
        return None  # it fails on its own when run, before any of it runs


def scan_code(source: str, rule: Rule = DEFAULT_RULE, names: Namespace | None = None) -> Finding | None:
    """The first thing in `source` that `rule` does not allow, or None."""
    tree = parse(source)
    if tree is None:
        return None
    if names is None:
        names = Namespace()
        names.learn(tree)
    return Scan(rule, names).first(tree)


def namespace(course_sources: list[str], learner_sources: list[str]) -> Namespace:
    names = Namespace()
    course_trees = [t for t in map(parse, course_sources) if t is not None]
    for tree in course_trees + [t for t in map(parse, learner_sources) if t is not None]:
        names.learn(tree)
    for tree in course_trees:
        names.course_objects(tree)
    return names


def is_course_cell(cell) -> bool:
    """The course's own cells are locked: nbgrader restores them before grading."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("locked"))


@functools.lru_cache(maxsize=8)
def _course_sources(course: tuple) -> frozenset:
    """The course's cells as written and as IPython runs them (a kernel's history holds the latter)."""
    return frozenset({c.strip() for c in course} | {python_of(c).strip() for c in course})


def offenses(course: list[str], candidates: list[str], lesson: str | None) -> list[tuple[int, Finding]]:
    """(index in `candidates`, first finding) for each of them that is the learner's and breaks the
    lesson's rule. The one scan behind grading (scan_cells) and the learner's own checks
    (learner_code.broken_rule): a candidate whose source is a course cell's is the course's."""
    known = _course_sources(tuple(course))
    learner = [(i, s) for i, s in enumerate(candidates) if s.strip() and s.strip() not in known]
    rule, names = rule_for(lesson), namespace(course, [s for _, s in learner])
    return [(i, finding) for i, s in learner if (finding := scan_code(s, rule, names))]


def scan_cells(cells, lesson: str | None) -> list[tuple[int, dict, Finding]]:
    """(index, nbgrader metadata, first finding) for each learner cell that breaks the lesson's rule.
    A learner cell is any code cell that is not the course's own (answer cells and added cells)."""
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    course = [c["source"] for _, c in code if is_course_cell(c)]
    candidates = [(i, c) for i, c in code if not is_course_cell(c)]
    return [(candidates[k][0], candidates[k][1].get("metadata", {}).get("nbgrader", {}), finding)
            for k, finding in offenses(course, [c["source"] for _, c in candidates], lesson)]


def flagged_checks(cells, lesson: str | None) -> dict:
    """{grade_id: reason} for every graded cell at or after the first learner cell that breaks the
    lesson's rule: those checks earn no points, whatever the kernel printed."""
    offenses = scan_cells(cells, lesson)
    if not offenses:
        return {}
    index, meta, finding = offenses[0]
    where = meta.get("grade_id") or f"cell {index + 1}"
    reason = f"{where} {finding}; {rule_for(lesson).what}, so checks from there on earn no points"
    return {c["metadata"]["nbgrader"]["grade_id"]: reason for c in cells[index:]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}
