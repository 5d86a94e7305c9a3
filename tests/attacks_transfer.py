"""Lesson 9's attack corpus, written by a tester who had not read the other tests (1 December 2026):
each entry is the answer cells a student replaced in the solution. CHEATS get autograd's or the
checker's gradients and must be flagged; REVIEW hides a numerical gradient, for the instructor to
see; RIGHT are fair answers in unusual styles, which must never be flagged nor reviewed."""

CHEATS = {
    'getattr_ag': {
        'answer_layernorm': "ag = getattr(torch, 'autograd')\nph, pg, pb = torch.nn.Parameter(h.clone()), torch.nn.Parameter(gain.clone()), torch.nn.Parameter(bias.clone())\ndh, dgain, dbias = ag.grad(transfer.layer_norm(ph, pg, pb), [ph, pg, pb], dln)",
    },
    'hook_backward': {
        'answer_gelu_tanh': 'store = []\npa = torch.nn.Parameter(a.clone())\npa.register_hook(store.append)\nloss = (transfer.gelu_tanh(pa) * dgelu).sum()\nT = type(loss)\nT.backward(loss)\nda = store[0]',
    },
    'grad64': {
        'answer_gelu_erf': 'dz = transfer._grad64(transfer.gelu_erf, {"z": z}, dgelu, "z").float()',
        'answer_dropout': 'du = transfer._grad64(transfer.dropout, {"u": u, "mask": mask}, ddrop, "u").float()',
    },
    'central_diff': {
        'answer_flatten': 'f_e = lambda e64: (transfer.flatten_linear(e64, W.double(), b.double()) * dlin.double()).sum()\nf_w = lambda w64: (transfer.flatten_linear(emb.double(), w64, b.double()) * dlin.double()).sum()\nf_b = lambda b64: (transfer.flatten_linear(emb.double(), W.double(), b64) * dlin.double()).sum()\ndemb = transfer.central_difference(f_e, emb.double(), H).float()\ndW = transfer.central_difference(f_w, W.double(), H).float()\ndb = transfer.central_difference(f_b, b.double(), H).float()',
    },
    'aten_gelu': {
        'answer_gelu_tanh': 'da = torch.ops.aten.gelu_backward.default(dgelu, a, approximate="tanh")',
        'answer_gelu_erf': 'dz = torch.ops.aten.gelu_backward.default(dgelu, z)',
    },
    'softmax_bwd_data': {
        'answer_attention': 'dP = dout @ v.T\ndv = P.T @ dout\ndscores = torch._softmax_backward_data(dP, P, 1, torch.float32)\ndq = dscores @ k / math.sqrt(d)\ndk = dscores.T @ q / math.sqrt(d)',
    },
    'aten_layernorm': {
        'answer_layernorm': 'mean = h.mean(1, keepdim=True)\nrstd = ((h - mean).square().mean(1, keepdim=True) + transfer.LN_EPS).rsqrt()\ndh, dgain, dbias = torch.ops.aten.native_layer_norm_backward.default(dln, h, [8], mean, rstd, gain, bias, [True, True, True])',
    },
    'vars_ag_attention': {
        'answer_attention': 'ag = vars(torch)[\'autograd\']\npq, pk, pv = (torch.nn.Parameter(t.clone()) for t in (q, k, v))\nsc = pq @ pk.T / math.sqrt(d)\nPP = sc.masked_fill(~transfer.causal_mask(5), float("-inf")).softmax(1)\ndP, dscores, dq, dk, dv = ag.grad(((PP @ pv) * dout).sum(), [PP, sc, pq, pk, pv])',
    },
    'mistakes_attention': {
        'answer_attention': 'ms = transfer._attention_mistakes(setup.attention)\ndq = (list(ms["q"].values())[0] / math.sqrt(d)).float()\ndk = (list(ms["k"].values())[0] / math.sqrt(d)).float()\ndscores = (dq.double() * 0 + list(ms["k"].values())[0].T @ torch.linalg.pinv(q.double().T)).float()  # noqa\ndP = dout @ v.T\ndv = P.T @ dout',
    },
    'aten_getattr_default': {
        'answer_gelu_tanh': 'da = getattr(torch.ops.aten, "gelu_backward")(dgelu, a, approximate="tanh")',
    },
    'func_getattr': {
        'answer_gelu_erf': 'fn = getattr(torch, "func")\ndz = fn.vjp(transfer.gelu_erf, z)[1](dgelu)[0]',
    },
    'native_dropout_bwd': {
        'answer_dropout': 'du = torch.ops.aten.native_dropout_backward.default(ddrop, mask, 1 / (1 - p))',
    },
    'mistakes_clean': {
        'answer_gelu_tanh': 'm = list(transfer._gelu_tanh_mistakes(setup.gelu)["a"].values())   # inner-missing, cubic-missing, product-missing\nda = (m[2] + (m[0] - m[2]) * math.sqrt(2 / math.pi) * (1 + 3 * transfer.GELU_C * a.double() ** 2)).float()',
        'answer_dropout': 'du = (list(transfer._dropout_mistakes(setup.dropout)["u"].values())[0] / (1 - p)).float()',
    },
    'mod_aliasing': {
        'answer_layernorm': 'T_ = torch\nph = T_.nn.Parameter(h.clone()); pg = T_.nn.Parameter(gain.clone()); pb = T_.nn.Parameter(bias.clone())\nout = transfer.layer_norm(ph, pg, pb)\ndh, dgain, dbias = T_.autograd.grad(out, (ph, pg, pb), dln)',
    },
    'engine_via_Tensor_mro': {
        'answer_gelu_erf': 'box = []\npz = torch.nn.Parameter(z.clone())\npz.register_hook(box.append)\ny = (transfer.gelu_erf(pz) * dgelu).sum()\ny.__class__.backward(y)\ndz = box[0]',
    },
    'ctl_backward': {
        'answer_dropout': 'pu = u.clone().requires_grad_()\n(transfer.dropout(pu, mask) * ddrop).sum().backward()\ndu = pu.grad',
    },
    # added after the review (1 December 2026): attrgetter reaches torch.autograd past the getattr rule
    'attrgetter_vjp': {
        'answer_dropout': "import operator\nag = operator.attrgetter('autograd')(torch)\n"
                          "du = ag.functional.vjp(lambda t: transfer.dropout(t, mask), u, ddrop)[1]",
    },
}

REVIEW = {
    'alias_ng': {
        'answer_attention': 'ng = numerical_grad\nfq = lambda q64: (transfer.attention(q64, k.double(), v.double()) * dout.double()).sum()\nfk = lambda k64: (transfer.attention(q.double(), k64, v.double()) * dout.double()).sum()\nfv = lambda v64: (transfer.attention(q.double(), k.double(), v64) * dout.double()).sum()\ndq, dk, dv = ng(fq, q.double(), H).float(), ng(fk, k.double(), H).float(), ng(fv, v.double(), H).float()\ndP = dout @ v.T\ndscores = P * (dP - (P * dP).sum(1, keepdim=True))',
    },
    'ctl_ng_direct': {
        'answer_dropout': 'du = numerical_grad(lambda u64: (transfer.dropout(u64, mask) * ddrop.double()).sum(), u.double(), H).float()',
    },
    'ng_dunder_call': {
        'answer_dropout': 'du = numerical_grad.__call__(lambda u64: (transfer.dropout(u64, mask) * ddrop.double()).sum(), u.double(), H).float()',
    },
}

RIGHT = {
    'legit_ln_steps': {
        'answer_layernorm': 'D = h.shape[1]\nmu = h.mean(dim=1, keepdim=True)\nxc = h - mu\nvar = (xc ** 2).mean(dim=1, keepdim=True)\nstd = torch.sqrt(var + transfer.LN_EPS)\ninv = 1.0 / std\nxhat = xc * inv\ndbias = torch.einsum("nd->d", dln)\ndgain = torch.einsum("nd,nd->d", dln, xhat)\ndxhat = dln * gain\ndinv = (dxhat * xc).sum(1, keepdim=True)\ndxc = dxhat * inv\ndstd = -dinv / std**2\ndvar = dstd * 0.5 / std\ndxc = dxc + 2 * xc / D * dvar\ndmu = -dxc.sum(1, keepdim=True)\ndh = dxc + dmu / D',
        'answer_gelu_tanh': 'c = math.sqrt(2.0 / math.pi)\ns = c * (a + 0.044715 * a ** 3)\nsech2 = 1.0 / torch.cosh(s) ** 2\nda = dgelu * (0.5 * (1 + torch.tanh(s)) + 0.5 * a * sech2 * c * (1 + 0.134145 * a ** 2))',
        'answer_gelu_erf': 'Phi = torch.special.ndtr(z)\nphi = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)\ndz = torch.where(torch.ones_like(z, dtype=torch.bool), dgelu * (Phi + z * phi), torch.zeros_like(z))',
        'answer_dropout': 'du = torch.where(mask, ddrop / (1 - p), torch.zeros_like(ddrop))',
        'answer_flatten': 'B_, T_, C_ = emb.shape\ndb = torch.zeros(W.shape[1])\nfor bi in range(B_):\n    for g in range(T_ // 2):\n        db += dlin[bi, g]\ndW = torch.einsum("bgi,bgo->io", emb.reshape(B_, T_ // 2, 2 * C_), dlin)\ndflat = torch.einsum("bgo,io->bgi", dlin, W)\ndemb = torch.zeros_like(emb)\ndemb[:, 0::2, :] = dflat[:, :, :C_]\ndemb[:, 1::2, :] = dflat[:, :, C_:]',
        'answer_attention': 'T_ = q.shape[0]\ndP = torch.einsum("id,jd->ij", dout, v)\ndv = torch.einsum("ij,id->jd", P, dout)\ndscores = torch.zeros_like(P)\nfor i in range(T_):\n    J = torch.diag(P[i]) - torch.outer(P[i], P[i])\n    dscores[i] = J @ dP[i]\ndscores = dscores.masked_fill(~transfer.causal_mask(T_), 0.0)\ndq = torch.einsum("ij,jd->id", dscores, k) / d ** 0.5\ndk = torch.einsum("ij,id->jd", dscores, q) / d ** 0.5',
    },
    'legit_gradfn_assert': {
        'answer_dropout': 'du = ddrop * mask.float() / (1 - p)\nassert du.grad_fn is None  # sanity: no autograd involved',
    },
    'legit_requires_grad_assert': {
        'answer_dropout': 'du = ddrop * mask.float() / (1 - p)\nassert not du.requires_grad, "autograd must not be involved"',
    },
    'legit_func_vmap_ng': {
        'answer_numerical_grad': 'def numerical_grad(f, x, h):\n    eye = torch.eye(x.numel(), dtype=x.dtype).reshape(-1, *x.shape) * h\n    fv = torch.func.vmap(f)\n    return ((fv(x + eye) - fv(x - eye)) / (2 * h)).reshape(x.shape)\n\ndef rel_error(a, b):\n    return ((a - b).abs() / (a.abs() + b.abs()).clamp_min(1e-12)).max()',
    },
    'legit_loop_ng': {
        'answer_numerical_grad': 'def numerical_grad(f, x, h):\n    flat = x.detach().clone().reshape(-1)\n    out = torch.empty_like(flat)\n    with torch.no_grad():\n        for i in range(flat.numel()):\n            old = flat[i].item()\n            flat[i] = old + h\n            fp = float(f(flat.reshape(x.shape)))\n            flat[i] = old - h\n            fm = float(f(flat.reshape(x.shape)))\n            flat[i] = old\n            out[i] = (fp - fm) / (2 * h)\n    return out.reshape(x.shape)\n\ndef rel_error(a, b):\n    num = (a - b).abs()\n    den = torch.maximum(a.abs() + b.abs(), torch.full_like(num, 1e-12))\n    return (num / den).max().item()',
    },
    'legit_alt_algebra': {
        'answer_gelu_tanh': 'c = math.sqrt(2 / math.pi)\ns = c * (a + 0.044715 * a.pow(3))\nsg = torch.sigmoid(2 * s)            # 0.5 (1 + tanh s) = sigmoid(2 s)\nda = dgelu * (sg + a * 2 * sg * (1 - sg) * c * (1 + 3 * 0.044715 * a * a))',
        'answer_gelu_erf': 'vals = []\nfor zi in z.reshape(-1).tolist():\n    vals.append(0.5 * (1 + math.erf(zi / math.sqrt(2))) + zi * math.exp(-zi * zi / 2) / math.sqrt(2 * math.pi))\ndz = dgelu * torch.tensor(vals).reshape(z.shape)',
        'answer_layernorm': 'D = h.shape[1]\nmean = h.mean(1, keepdim=True)\nvar = h.var(1, unbiased=False, keepdim=True)\nrstd = torch.rsqrt(var + transfer.LN_EPS)\nxhat = (h - mean) * rstd\ndbias = dln.sum(dim=0)\ndgain = (xhat * dln).sum(dim=0)\ng = dln * gain\ndh = rstd / D * (D * g - g.sum(1, keepdim=True) - xhat * (g * xhat).sum(1, keepdim=True))',
        'answer_attention': 'Tn = q.shape[0]\ns_ = (q @ k.T) / math.sqrt(d)\ns_ = torch.where(torch.tril(torch.ones(Tn, Tn)) > 0, s_, torch.full_like(s_, -1e9))\ne_ = torch.exp(s_ - s_.max(1, keepdim=True).values)\nPm = e_ / e_.sum(1, keepdim=True)\ndP = dout @ v.t()\ndv = Pm.t() @ dout\ndscores = Pm * dP - Pm * (Pm * dP).sum(1, keepdim=True)\ndq = dscores @ k * d ** -0.5\ndk = (q.t() @ dscores).t() * d ** -0.5',
        'answer_flatten': 'flat = emb.view(emb.shape[0], emb.shape[1] // 2, -1)\ndb = dlin.sum(0).sum(0)\ndW = torch.zeros_like(W)\nfor bi in range(flat.shape[0]):\n    dW += flat[bi].T @ dlin[bi]\ndemb = torch.matmul(dlin, W.transpose(0, 1)).reshape(emb.shape)',
        'answer_dropout': 'keep = mask.to(ddrop.dtype)\ndu = keep * ddrop * (1.0 / (1.0 - transfer.DROPOUT_P))',
    },
    'legit_f64_then_cast': {
        'answer_layernorm': 'h64, g64, dl64 = h.double(), gain.double(), dln.double()\nmean = h64.mean(1, keepdim=True)\nvar = ((h64 - mean) ** 2).mean(1, keepdim=True)\nxhat = (h64 - mean) / torch.sqrt(var + 1e-5)\ndbias = dl64.sum(0).float()\ndgain = (dl64 * xhat).sum(0).float()\ngx = dl64 * g64\ndh = ((gx - gx.mean(1, keepdim=True) - xhat * (gx * xhat).mean(1, keepdim=True)) / torch.sqrt(var + 1e-5)).float()',
    },
    'legit_torch_vmap_ng': {
        'answer_numerical_grad': 'def numerical_grad(f, x, h):\n    eye = torch.eye(x.numel(), dtype=x.dtype).reshape(-1, *x.shape) * h\n    fv = torch.vmap(f)\n    return ((fv(x + eye) - fv(x - eye)) / (2 * h)).reshape(x.shape)\n\ndef rel_error(a, b):\n    return ((a - b).abs() / (a.abs() + b.abs()).clamp_min(1e-12)).max()',
    },
    'legit_grad_is_none_assert': {
        'answer_gelu_erf': 'cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))\npdf = torch.exp(-z**2 / 2) / math.sqrt(2 * math.pi)\ndz = dgelu * (cdf + z * pdf)\nassert z.grad is None and not z.requires_grad   # no autograd anywhere',
    },
    # added after the review: softmax's backward as a batch of Jacobians (diag(P) - P Pᵀ, one per row)
    'batched_jacobian_attention': {
        'answer_attention': "dP = dout @ v.T\ndv = P.T @ dout\n"
                            "J = torch.diag_embed(P) - P[:, :, None] * P[:, None, :]\n"
                            "dscores = (J @ dP[:, :, None]).squeeze(-1)\n"
                            "dq = torch.matmul(dscores, k) / math.sqrt(d)\n"
                            "dk = torch.matmul(dscores.transpose(0, 1), q) / math.sqrt(d)",
    },
}
