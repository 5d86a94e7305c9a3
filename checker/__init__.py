"""backprop-ninja's checker: reference gradients computed here, compared with yours, explained.

This top level is the learner-facing core every lesson uses; each lesson's own module is in
`checker.lessons`, and what runs only in the grader is in `checker.grading`.

    from checker.lessons import makemore
    setup = makemore.MakemoreSetup()          # data, parameters and a batch, from one seed
    ex = makemore.exercise1(setup)            # the references for Exercise 1
    ex.check("dlogprobs", dlogprobs)          # one report row; raises CheckFailed unless correct
    ex.summary()                              # scoreboard of every gradient

`compare(label, yours, expected, truth)` is the building block: it returns a `Check` with
exact / approx / maxdiff, a status and a one-sentence reason, and never raises on bad input.
"""

from . import answer_cells
from .check import Check, Status
from .compare import compare
from .data import data_path, load_digits, load_names
from .errors import CarriedForward, CheckFailed, CourseDataError, CourseError
from .exercise import Exercise, Reference
from .karpathy import cmp
from .report import Scoreboard, show, source, summaries
from .environment import graded as _graded, use_one_thread as _use_one_thread

_use_one_thread()  # tiny tensors: one thread is faster, and far faster beside a busy neighbour
if not _graded():  # in the learner's kernel: an answer cell that raises, and the lesson runs on
    answer_cells.install()

__all__ = [
    "CarriedForward", "Check", "CheckFailed", "CourseDataError", "CourseError", "Exercise", "Reference", "Scoreboard",
    "Status", "cmp", "compare", "data_path", "load_digits", "load_names", "show", "source", "summaries",
]
