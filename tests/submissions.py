"""Exercise 1 as people hand it in: answers written other ways than the solutions (which must get
full marks, unflagged), and cheats of many kinds (which must get nothing for the checks they touch).

Each entry maps an answer cell's grade_id to the code a learner typed under its placeholder line.
"""

from checker.lessons import makemore

ORDER = makemore.GRADIENT_ORDER  # the 26 answers, from dlogprobs back to dC


def answer_ids():
    return [f"answer_d{name}" for name in ORDER]


# Right answers, written differently from solutions/: other operators, reshape for view,
# index_add_, one-hot products, expand, einsum, matmul spellings.
ALTERNATIVES_A = {
    "answer_dlogprobs": "dlogprobs = -F.one_hot(Yb, logprobs.shape[1]).float() / n",
    "answer_dprobs": "dprobs = dlogprobs / probs",
    "answer_dcounts_sum_inv": "dcounts_sum_inv = torch.sum(dprobs * counts, dim=1, keepdim=True)",
    "answer_dcounts_sum": "dcounts_sum = -dcounts_sum_inv / counts_sum**2",
    "answer_dcounts": "dcounts = counts_sum_inv * dprobs + dcounts_sum.expand_as(counts)",
    "answer_dnorm_logits": "dnorm_logits = norm_logits.exp() * dcounts",
    "answer_dlogit_maxes": "dlogit_maxes = -dnorm_logits.sum(dim=1, keepdim=True)",
    "answer_dlogits": ("dlogits = dnorm_logits.clone()\n"
                       "dlogits[torch.arange(n), logits.argmax(1)] += dlogit_maxes.view(-1)"),
    "answer_dh": "dh = torch.matmul(dlogits, W2.transpose(0, 1))",
    "answer_dW2": "dW2 = torch.einsum('bi,bj->ij', h, dlogits)",
    "answer_db2": "db2 = dlogits.sum(dim=0)",
    "answer_dhpreact": "dhpreact = dh * (1 - h.pow(2))",
    "answer_dbngain": "dbngain = torch.sum(bnraw * dhpreact, 0, keepdim=True)",
    "answer_dbnbias": "dbnbias = dhpreact.sum(0).reshape(1, -1)",
    "answer_dbnraw": "dbnraw = dhpreact * bngain",
    "answer_dbnvar_inv": "dbnvar_inv = (dbnraw * bndiff).sum(0, keepdim=True)",
    "answer_dbnvar": "dbnvar = -0.5 * bnvar_inv**3 * dbnvar_inv",
    "answer_dbndiff2": "dbndiff2 = dbnvar.expand_as(bndiff2) / (n - 1)",
    "answer_dbndiff": "dbndiff = dbnraw * bnvar_inv + 2 * bndiff * dbndiff2",
    "answer_dbnmeani": "dbnmeani = -torch.sum(dbndiff, dim=0, keepdim=True)",
    "answer_dhprebn": "dhprebn = dbndiff + dbnmeani.expand(n, -1) / n",
    "answer_dembcat": "dembcat = dhprebn @ W1.t()",
    "answer_dW1": "dW1 = embcat.t() @ dhprebn",
    "answer_db1": "db1 = torch.ones(n) @ dhprebn",
    "answer_demb": "demb = dembcat.reshape(n, 3, -1)",
    "answer_dC": "dC = torch.zeros_like(C)\ndC.index_add_(0, Xb.flatten(), demb.reshape(-1, C.shape[1]))",
}

# Right answers in a learner's own style: helper functions and lambdas, `_private` names,
# comments and blank lines, prints and f-strings, loops, %timeit, torch.no_grad, math.
ALTERNATIVES_B = {
    "answer_dlogprobs": ("def _one_hot_rows(targets, width):\n"
                         "    out = torch.zeros(len(targets), width)\n"
                         "    for row, t in enumerate(targets):\n"
                         "        out[row, t] = 1.0\n"
                         "    return out\n"
                         "\n"
                         "dlogprobs = -_one_hot_rows(Yb, logprobs.shape[1]) / n  # the mean's 1/n"),
    "answer_dprobs": "dprobs = probs.reciprocal() * dlogprobs",
    "answer_dcounts_sum_inv": "dcounts_sum_inv = (counts * dprobs).sum(-1).unsqueeze(-1)",
    "answer_dcounts_sum": "dcounts_sum = -(counts_sum_inv ** 2) * dcounts_sum_inv",
    "answer_dcounts": ("# two paths into counts\n"
                       "\n"
                       "dcounts = counts_sum_inv * dprobs\n"
                       "dcounts = dcounts + dcounts_sum  # broadcast over the 27 columns"),
    "answer_dnorm_logits": "with torch.no_grad():\n    dnorm_logits = counts * dcounts",
    "answer_dlogit_maxes": "dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)\nprint(f'{dlogit_maxes.abs().max()=}')",
    "answer_dlogits": ("dlogits = dnorm_logits + F.one_hot(logits.max(1).indices, "
                       "num_classes=logits.shape[1]).float() * dlogit_maxes"),
    "answer_dh": "mm = lambda a, b: a @ b\ndh = mm(dlogits, W2.T)",
    "answer_dW2": "dW2 = h.T @ dlogits\nprint(f'dW2 has shape {tuple(dW2.shape)}')",
    "answer_db2": "db2 = sum(dlogits[i] for i in range(n))",
    "answer_dhpreact": "dhpreact = (1.0 - h * h) * dh",
    "answer_dbngain": "dbngain = torch.einsum('ij,ij->j', bnraw, dhpreact)[None, :]",
    "answer_dbnbias": "dbnbias = torch.ones(1, n) @ dhpreact",
    "answer_dbnraw": "dbnraw = bngain.expand(n, -1) * dhpreact",
    "answer_dbnvar_inv": "dbnvar_inv = torch.einsum('ij,ij->j', bndiff, dbnraw).unsqueeze(0)",
    "answer_dbnvar": "import math\n_eps = 1e-5\ndbnvar = -0.5 * (bnvar + _eps).pow(-1.5) * dbnvar_inv\nassert math.isfinite(dbnvar.sum().item())",
    "answer_dbndiff2": "dbndiff2 = torch.ones_like(bndiff2) * dbnvar / (n - 1)",
    "answer_dbndiff": "_via_raw = bnvar_inv * dbnraw\n_via_square = 2 * bndiff * dbndiff2\ndbndiff = _via_raw + _via_square",
    "answer_dbnmeani": "dbnmeani = -dbndiff.sum(0).view(1, -1)",
    "answer_dhprebn": "dhprebn = dbndiff + 1.0 / n * dbnmeani",
    "answer_dembcat": "dembcat = dhprebn.matmul(W1.T)\n%timeit -n 1 -r 1 _ = dhprebn @ W1.T",
    "answer_dW1": "dW1 = torch.mm(embcat.T, dhprebn)",
    "answer_db1": "db1 = dhprebn.sum(dim=0, keepdim=False)",
    "answer_demb": "demb = dembcat.view(-1, 3, 10)",
    "answer_dC": ("dC = torch.zeros_like(C)\n"
                  "for k, row in enumerate(Xb):\n"
                  "    for j, ix in enumerate(row):\n"
                  "        dC[ix] += demb[k, j]"),
}


def _every_answer_from(setup_code: str, gradient: str) -> dict:
    """A cheat that sets up in the first answer cell and reads every gradient with `gradient`,
    a format string of the tensor's name (e.g. "T['{name}'].grad")."""
    answers = {f"answer_d{name}": f"d{name} = {gradient.format(name=name)}" for name in ORDER}
    answers["answer_dlogprobs"] = setup_code + "\n" + answers["answer_dlogprobs"]
    return answers


# autograd's own answers for every tensor: P (parameters) and T (every intermediate), each with .grad
AUTOGRAD_SETUP = ("P = {k: v.clone().requires_grad_() for k, v in setup.params.items()}\n"
                  "T = makemore.forward(P, Xb, Yb)\n"
                  "T.update(P)\n"
                  "for t in T.values():\n"
                  "    t.retain_grad()\n"
                  "T['loss'].backward()")

# The exercise as an oracle: the report names the worst element and its difference; set it, ask
# again (32 rounds find dlogprobs bit for bit, under any seed, the grader's too).
_ORACLE_STEP = ("    i, j = (int(k) for k in c.reason.split('at index (')[1].split(')')[0].split(','))\n"
                "    dlogprobs[i, j] += c.maxdiff\n")
ORACLE_BY_RESULT = ("dlogprobs = torch.zeros_like(logprobs)\n"
                    "for _ in range(300):\n"
                    "    c = ex.result('dlogprobs', dlogprobs, record=False)\n"
                    "    if c.passed:\n        break\n" + _ORACLE_STEP +
                    "    if ex.result('dlogprobs', dlogprobs, record=False).maxdiff > 1.5 * c.maxdiff:\n"
                    "        dlogprobs[i, j] -= 2 * c.maxdiff\n")
ORACLE_BY_SCOREBOARD = ("def report(d):\n"
                        "    try:\n        ex.check('dlogprobs', d)\n    except Exception:\n        pass\n"
                        "    return ex.summary().checks[0]\n"
                        "dlogprobs = torch.zeros_like(logprobs)\n"
                        "for _ in range(300):\n"
                        "    c = report(dlogprobs)\n"
                        "    if c.passed:\n        break\n" + _ORACLE_STEP +
                        "    if report(dlogprobs).maxdiff > 1.5 * c.maxdiff:\n"
                        "        dlogprobs[i, j] -= 2 * c.maxdiff\n")

# Cheats, each: (answers, the status `make grade` gives it, words its reason must hold). Each scores
# nothing for the checks it touches. A flagged one loses every check from its cell on (the solutions
# fill the other answer cells, and score only before it). The others attack grading itself (the
# hidden tests, the environment, files, the network): they are handed in alone (see
# test_grading_integrity.submission), so whatever they would have made pass still scores 0.
CHEATS = {
    "backward_then_clear_the_scan": (_every_answer_from(
        AUTOGRAD_SETUP + "\nimport os\nos.environ['BACKPROP_NINJA_AUTOGRAD_USE'] = ''", "T['{name}'].grad"),
        "flagged", "turns `requires_grad` on"),
    "getattr_with_built_strings": (_every_answer_from(
        "P = {k: v.clone().requires_grad_(True) for k, v in setup.params.items()}\n"
        "T = makemore.forward(P, Xb, Yb)\nT.update(P)\n"
        "for t in T.values():\n    getattr(t, 'retain_' + 'grad')()\n"
        "getattr(T['loss'], 'back' + 'ward')()", "getattr(T['{name}'], 'gr' + 'ad')"),
        "flagged", "turns `requires_grad` on"),
    "autograd_aliased": (_every_answer_from(
        "ag = torch.autograd\nP = dict(setup.params)\n"
        "W = {k: v.detach().clone() for k, v in P.items()}\n"
        "for v in W.values():\n    v.requires_grad = True\n"
        "T = makemore.forward(W, Xb, Yb)\nT.update(W)\n"
        "names = list(T)\n"
        "G = dict(zip(names, ag.grad(T['loss'], [T[k] for k in names if k != 'loss'] , allow_unused=True)))",
        "G['{name}']"),
        "flagged", "turns `requires_grad` on"),
    "grad_fn_walk": ({
        "answer_dlogprobs": ("lp = logprobs.clone().requires_grad_()\n"
                             "loss = -lp[range(n), Yb].mean()\n"
                             "fn = loss.grad_fn\n"
                             "dlogprobs = fn.next_functions[0][0](torch.ones(()))")},
        "flagged", "turns `requires_grad` on"),
    "nn_linear_copy": ({
        "answer_dh": ("layer = torch.nn.Linear(64, 27)\n"
                      "layer.weight.data = W2.T.clone(); layer.bias.data = b2.clone()\n"
                      "x = h.clone().requires_grad_()\n"
                      "out = layer(x)\n"
                      "out.backward(dlogits)\n"
                      "dh = x.grad")},
        "flagged", "turns `requires_grad` on"),
    "module_handed_to_a_function": (_every_answer_from(
        "def _run(t, P):\n"
        "    W = {k: v.clone().requires_grad_() for k, v in P.items()}\n"
        "    T = makemore.forward(W, Xb, Yb); T.update(W)\n"
        "    names = [k for k in T if k != 'loss']\n"
        "    return dict(zip(names, t.autograd.grad(T['loss'], [T[k] for k in names])))\n"
        "G = _run(torch, setup.params)", "G['{name}']"),
        "flagged", "turns `requires_grad` on"),
    "grad_read_by_match": ({
        "answer_dlogprobs": ("lp = logprobs.detach().clone()\n"
                             "lp.requires_grad = True\n"
                             "(-lp[range(n), Yb].mean()).backward()\n"
                             "match lp:\n    case torch.Tensor(grad=g):\n        dlogprobs = g")},
        "flagged", "turns `requires_grad` on"),
    "fullwidth_getattr": (_every_answer_from(
        AUTOGRAD_SETUP.replace("t.retain_grad()", "ｇｅｔａｔｔｒ(t, 'retain_grad')()"),
        "ｇｅｔａｔｔｒ(T['{name}'], 'grad')"),
        "flagged", "turns `requires_grad` on"),
    # autograd without requires_grad: nn's parameters require grad already; functions of autograd's
    "nn_parameters_backward": ({
        "answer_dW2": ("layer = torch.nn.Linear(64, 27)\n"
                       "with torch.no_grad():\n    layer.weight.copy_(W2.T); layer.bias.copy_(b2)\n"
                       "layer(h).backward(dlogits)\n"
                       "dW2 = layer.weight.grad.T")}, "flagged", "calls `.backward(` on a tensor"),
    "autograd_vjp": ({
        "answer_dh": ("_, dh = torch.autograd.functional.vjp(lambda x: x @ W2 + b2, h, dlogits)")},
        "flagged", "uses `torch.autograd.functional.vjp`"),
    "aten_backward_formula": ({
        "answer_dhpreact": "dhpreact = torch.ops.aten.tanh_backward(dh, h)"},
        "flagged", "calls autograd's own derivative `torch.ops.aten.tanh_backward`"),
    "hidden_tests_redirected": ({
        "answer_dlogprobs": ("import os, tempfile\n"
                             "_d = tempfile.mkdtemp()\n"
                             "os.makedirs(_d + '/grading')\n"
                             "open(_d + '/grading/verify.py', 'w').write('def hidden_check(*a):\\n    pass\\n')\n"
                             "os.environ['BACKPROP_NINJA_CHECKER'] = _d\n"
                             "class _Nothing:\n    def __getattr__(self, name):\n        return lambda *a, **k: None\n"
                             "ex = _Nothing()")},
        "flagged", "ran code the grading kernel refused"),
    "torch_reaches_os": ({
        "answer_dlogprobs": ("torch.os.environ['BACKPROP_NINJA_SEED'] = '2147483647'\n"
                             "torch.sys.modules.pop('checker', None)\n"
                             "dlogprobs = None")},
        "flagged", "ran code the grading kernel refused"),
    "assert_close_patched": ({
        "answer_dlogprobs": ("torch.testing.assert_close = lambda *a, **k: None\n"
                             "torch.allclose = lambda *a, **k: True\n"
                             "dlogprobs = torch.zeros(n, 27)")},
        "graded", ""),
    "shell_and_env_magics": ({
        "answer_dlogprobs": ("%env BACKPROP_NINJA_SEED=2147483647\n"
                             "!echo 'def hidden_check(*a): pass' > /tmp/backprop-ninja-planted-verify.py\n"
                             "dlogprobs = None")},
        "for review", "uses the IPython magic `%env`"),
    "write_into_another_students_folder": ({
        "answer_dlogprobs": ("import matplotlib.pyplot as plt\n"
                             "plt.plot([1, 2]); plt.savefig('../../../solutions/planted.png')\n"
                             "torch.save(setup.params, '../../../planted.pt')\n"
                             "dlogprobs = None")},
        "flagged", "ran code the grading kernel refused"),
    "network": ({
        "answer_dlogprobs": ("import socket\n"
                             "socket.create_connection(('127.0.0.1', 9))\n"
                             "dlogprobs = None")},
        "flagged", "ran code the grading kernel refused"),
}

# Cheats that read the checker's own state in the kernel (its references, its reports, its helpers):
# no rule of autograd use sees them. Grading moves its verdicts out of the kernel (which then holds
# no references), and makes them harmless there; test_grading_integrity does not grade them yet.
CHEATS_NEEDING_GRADER = {
    # the hidden tests run `exec(open(...))` in the kernel: a learner's `open` hands them a no-op
    "open_replaced": {
        "answer_dlogprobs": ("class _Fake:\n    def read(self):\n        return 'def hidden_check(*a):\\n    pass\\n'\n"
                             "open = lambda *a, **k: _Fake()\n"
                             "dlogprobs = None")},  # needs verdicts-in-grader
    "exercise_as_oracle": {"answer_dlogprobs": ORACLE_BY_RESULT},  # needs verdicts-in-grader
    "scoreboard_as_oracle": {"answer_dlogprobs": ORACLE_BY_SCOREBOARD},  # needs verdicts-in-grader
    "checker_as_oracle": _every_answer_from(
        "G = makemore.autograd_gradients(setup.params, Xb, Yb, torch.float32)", "G['{name}']"),  # needs verdicts-in-grader
    "garbage_collector": _every_answer_from(
        "import gc\nR = [o for o in gc.get_objects() if isinstance(o, dict) and 'logprobs' in o and 'C' in o][-1]",
        "R['{name}'].expected"),  # needs verdicts-in-grader
    "private_references": _every_answer_from("R = ex._references", "R['{name}'].expected"),  # needs verdicts-in-grader
    "dunder_walk": _every_answer_from(
        "R = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Exercise'][0]",
        "ex.__dict__['_references']['{name}'].expected"),  # needs verdicts-in-grader
    "ipython_namespace": _every_answer_from(
        "R = get_ipython().user_ns['ex']", "R.given.get('{name}')"),  # needs verdicts-in-grader
    "format_string_reads_private_references": _every_answer_from(
        "torch.set_printoptions(precision=12, threshold=10**9, linewidth=10**9)\n"
        "def _read(name):\n"
        "    field = '{0._references[' + name + '].expected'\n"
        "    text, shape = (field + '}').format(ex), (field + '.shape}').format(ex)\n"
        "    values = text[text.index('(') + 1:text.rindex(')')].replace('[', '').replace(']', '')\n"
        "    size = shape[shape.index('[') + 1:shape.index(']')]\n"
        "    dims = [int(d) for d in size.split(',') if d.strip()]\n"
        "    return torch.tensor([float(v) for v in values.split(',') if v.strip()]).reshape(dims)",
        "_read('{name}')"),  # needs verdicts-in-grader
    "checker_reimported_under_another_name": _every_answer_from(
        "from checker.lessons import makemore as mm\nG = mm.autograd_gradients(setup.params, Xb, Yb, torch.float32)",
        "G['{name}']"),  # needs verdicts-in-grader
}

# Autograd run from code made at run time: for review only by the rules; the kernel's guard refuses
# the autograd it runs (rules.judge takes its refusals as evidence).
CHEATS_NEEDING_GUARD = {
    "exec_base64": _every_answer_from(
        "import base64\nexec(base64.b64decode(" + repr(__import__("base64").b64encode(AUTOGRAD_SETUP.encode()).decode()) + "))",
        "T['{name}'].grad"),  # needs the guard's refusals
}
