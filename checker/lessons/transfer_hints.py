"""Lesson 09's hints for `ex.hint("dX")`, one level more at each call, as in every lesson: where the
tensor is used and the shape of its gradient; the local derivative and the upstream gradient it
meets; how the pieces fit together, in words and maths, never a line of the answer."""

HINTS = {
    "numerical": {
        "w": ("numerical_grad(f, x, h) returns a tensor of x's shape: entry i is how fast f changes when x_i "
              "alone moves. f returns one number.",
              "Central difference: (f(x + h·e_i) - f(x - h·e_i)) / 2h, with e_i the tensor of zeros with a 1 at "
              "entry i. Its error shrinks like h², the one-sided difference's only like h.",
              "A loop over the entries of x (x.numel() of them; a flat view reaches any shape): for each, make two "
              "copies of x, one nudged up by h at that entry and one down, evaluate f on both, and store the "
              "difference over 2h at that entry of a zeros tensor of x's shape and dtype. Never change x itself."),
    },
    "layernorm": {
        "bias": ("bias (8,) is added to every row of the output; dbias has bias's shape (8,).",
                 "An added bias has local derivative 1: every row's dln reaches it.",
                 "dln (4, 8) summed over the rows (dimension 0), not kept: (8,), bias's own shape."),
        "gain": ("gain (8,) multiplies ĥ, the normalised h, in every row; dgain has gain's shape (8,).",
                 "The local derivative is ĥ = (h - μ) / √(σ² + ε), and the upstream gradient is dln.",
                 "dln ⊙ ĥ, element by element (4, 8), then a sum over the rows (dimension 0), not kept: (8,)."),
        "h": ("ln = gain ⊙ ĥ + bias, ĥ = (h - μ) / √(σ² + ε), with μ and σ² each row's mean and (biased) variance "
              "over its D features; dh has h's shape (4, 8).",
              "Per row it is batchnorm's fused backward turned sideways: with dĥ = gain ⊙ dln, "
              "dh = (1/√(σ² + ε)) · (dĥ - mean(dĥ) - ĥ ⊙ mean(dĥ ⊙ ĥ)), the means over the row's D features.",
              "Three pieces, all per row: dĥ (4, 8); its mean over dimension 1, kept as a column (4, 1); the mean of "
              "dĥ ⊙ ĥ over dimension 1, also a column. Subtract the first column, subtract ĥ times the second, "
              "then divide each row by its own √(σ² + ε), a column too. Biased variance: divide by D, not D - 1."),
    },
    "gelu_tanh": {
        "a": ("gelu = 0.5·a·(1 + tanh(s)), s = √(2/π)·(a + 0.044715·a³), element by element: da has a's shape (4, 8).",
              "A product of a and a gate that depends on a: d/da = 0.5(1 + tanh s) + 0.5·a·(1 - tanh²s)·ds/da, with "
              "ds/da = √(2/π)(1 + 3·0.044715·a²).",
              "Compute s and t = tanh(s) element by element; then the two terms of the product rule, the gate "
              "itself and a times the gate's derivative (tanh's 1 - t², times ds/da); add them and multiply by "
              "dgelu, element by element. No sums: every output depends on its own input only."),
    },
    "gelu_erf": {
        "z": ("gelu = z·Φ(z), with Φ(z) = 0.5(1 + erf(z/√2)) the normal distribution function; dz has z's shape (4, 8).",
              "The product rule: d/dz [z·Φ(z)] = Φ(z) + z·φ(z), with φ(z) = exp(-z²/2)/√(2π), the normal density "
              "(Φ's derivative).",
              "Element by element: Φ(z) from erf, φ(z) from exp with its 1/√(2π), then Φ + z·φ, times dgelu. No sums."),
    },
    "dropout": {
        "u": ("dropped = u ⊙ mask / (1 - p), with the given bool mask (True = kept) and p = 0.25: du has u's shape (4, 8).",
              "The local derivative of each output with respect to its own input is mask / (1 - p): 1/(1 - p) where "
              "the unit was kept, 0 where it was dropped.",
              "Element by element: ddrop times the mask (as numbers, True = 1) times 1/(1 - p), the same scaling the "
              "forward pass used. No sums: each output uses one input."),
    },
    "flatten": {
        "b": ("b (5,) is added at every (example, group) pair: db has b's shape (5,).",
              "An added bias has local derivative 1: every position's dlin reaches it.",
              "dlin (3, 4, 5) summed over both leading dimensions (0 and 1), not kept: (5,)."),
        "W": ("W (8, 5) is used at every (example, group) pair: dW has W's shape (8, 5).",
              "For Y = X @ W, dW = Xᵀ @ dY, with X the flattened embeddings and the sum over every row that used W.",
              "Treat the first two dimensions as one batch: the flattened embeddings as (3·4, 8) rows and dlin as "
              "(3·4, 5) rows; they meet on the 12 rows once the embeddings are turned over, which leaves (8, 5)."),
        "emb": ("The forward is a view (B, T, C) -> (B, T/2, 2C), then a Linear layer: demb has emb's shape (3, 8, 4).",
                "Through the Linear: the gradient of its input is dlin @ Wᵀ, (3, 4, 8). Through the view: a view only "
                "relabels the same numbers, so its backward is the inverse relabelling.",
                "Two steps: dlin (3, 4, 5) and W (8, 5) meet on the 5 once W is turned over, giving the flattened "
                "input's gradient (3, 4, 8); then bring it back to emb's shape (3, 8, 4) with the inverse of the "
                "forward's view, no transpose: each group of 8 numbers is two consecutive positions' 4 each."),
    },
    "attention": {
        "P": ("out = P @ v, with P (5, 5) the attention weights: dP has P's shape (5, 5).",
              "For Y = A @ B, dA = dY @ Bᵀ: here dY is dout and B is v.",
              "dout (5, 6) and v (5, 6) meet on the head size 6 once v is turned over: (5, 5), a row per query."),
        "v": ("out = P @ v: v (5, 6) is used by every query's weighted sum; dv has v's shape (5, 6).",
              "For Y = A @ B, dB = Aᵀ @ dY: here A is P and dY is dout.",
              "P (5, 5) and dout (5, 6) meet on the queries once P is turned over (the rows of P are queries, its "
              "columns keys, and v has a row per key): (5, 6)."),
        "scores": ("P = softmax of the masked scores, row by row; dscores has the scores' shape (5, 5).",
                   "Softmax's backward, row by row: P ⊙ (dP - Σ_j P_j dP_j), the sum over the row's keys. Masked "
                   "entries have P = 0, so their gradient is 0 by itself: use the forward's own P.",
                   "Per row: the dot product of P and dP over the keys (dimension 1), kept as a column (5, 1); "
                   "subtract it from dP (5, 5); multiply element by element by the same masked P."),
        "q": ("scores = q @ kᵀ / √d: q (5, 6) is used in its own row of scores; dq has q's shape (5, 6).",
              "For Y = A @ B with B = kᵀ, dA = dY @ Bᵀ = dscores @ k, and the constant 1/√d scales it.",
              "dscores (5, 5) and k (5, 6) meet on the keys: (5, 6), then divided by √d, d = 6."),
        "k": ("scores = q @ kᵀ / √d: k's row j is used in column j of scores; dk has k's shape (5, 6).",
              "Column j of dscores meets the queries: dk = dscoresᵀ @ q, scaled by 1/√d.",
              "dscores turned over (5, 5), keys by queries, meets q (5, 6) on the queries: (5, 6), then divided by "
              "√d, d = 6."),
    },
}
