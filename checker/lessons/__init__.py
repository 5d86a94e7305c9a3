"""One module per lesson: its seeded setup, its references and its hints. A new lesson is one
solution notebook in `solutions/` and one module here.

    chain_rule.py     01  the chain rule and the building blocks' backward
    scalar_engine.py  02  a scalar autograd engine (the learner's `Value` class)
    digits_mlp.py     03  an MLP by hand on the 8x8 digits, then as a ten-class classifier
    digits_evaluation.py  03  judging that classifier: confusion counts, precision/recall/F1, ROC, AUC two ways
    makemore.py       04-06  the makemore MLP: data, parameters, forward pass, Exercises 1-3
    training.py       07  Exercise 4: training with the learner's own backward
    capstone.py       08  the learner's backward as `torch.autograd.Function`s
    transfer.py       09  layers no lesson taught: the learner's gradient checker, then layer norm, GELU,
                          dropout, FlattenConsecutive + Linear, causal attention (hints: transfer_hints.py)

What lessons share: class_checks.py (checking a learner's class: lessons 02 and 08) and timing.py
(fair timing of training steps: lessons 07 and 08).
"""
