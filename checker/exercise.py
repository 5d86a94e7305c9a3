"""An exercise: a fixed list of gradients to find, their references, and the learner's progress.

    ex.check("dlogprobs", dlogprobs)   # shows one report row; raises CheckFailed unless correct
    ex.summary()                       # the scoreboard of every gradient in the exercise
"""

from dataclasses import dataclass, field, replace

import torch

from . import answer_cells
from .check import Check, Status
from .compare import compare
from .errors import CheckFailed
from .environment import graded, nbgrader_validating, validating
from .learner_code import broken_rule, typed_in_number
from .report import Hint, Scoreboard, difference_plot, show, validated


_FAILURE_PHRASE = {Status.WRONG: "is not correct yet", Status.NOT_DONE: "is not done yet",
                   Status.INVALID: "cannot be checked yet"}


@dataclass(frozen=True)
class Reference:
    """What autograd says about one gradient: in float32 (`expected`) and in float64 (`truth`).
    `mistakes` maps a hint to the tensor a known slip produces, so a wrong answer can be recognised."""

    expected: torch.Tensor
    truth: torch.Tensor | None = None
    mistakes: dict[str, torch.Tensor] = field(default_factory=dict)


class Exercise:
    """Checks gradients named after their tensors: `check("dW1", dW1)` looks up the reference of W1."""

    def __init__(self, title: str, references: dict[str, Reference], *, allow_keepdim: bool = False,
                 given: dict[str, torch.Tensor] | None = None, batch_size: int | None = None,
                 numbers_from_seed: bool = False, written_by: dict[str, str] | None = None,
                 lesson: str | None = None, chain=None, hints: dict | None = None):
        self.title = title
        # {name: (where it is used, its local derivative, how the pieces fit together)}: see hint(). A first
        # level of None is read from the chain's graph.
        self._hints = dict(hints or {})
        self._hints_shown: dict[str, int] = {}
        # The forward graph (checker/chain.py): a wrong step is judged again on the learner's own
        # upstream answers, which are kept here as copies (a later in-place change cannot alter them).
        self.chain = chain
        self._answers: dict[str, torch.Tensor] = {}
        self._tensors: dict[str, torch.Tensor] = {}  # the learner's own tensors, to notice shared memory
        # The lesson whose rules (checker/rules.py) the learner's cells are held to, as in grading;
        # None for an exercise inside another (the class checks' per-case exercises).
        self.lesson = lesson
        # Gradients the lesson gets by calling the learner's code, e.g. {"dout": "your `mse_grad`"}:
        # when one is missing, the learner has a function to fix, not a placeholder to replace.
        self._written_by = dict(written_by or {})
        # Every answer is a single number that changes with the seed: one typed in as a number
        # passes here and scores 0 when graded, so it is refused here too (see _typed_in).
        self._numbers_from_seed = numbers_from_seed
        self.batch_size = batch_size  # lets hints recognise factors such as 1/n
        # Incoming gradients the lesson hands the learner, e.g. {"dhpreact": ...} for the fused batchnorm.
        self.given = dict(given or {})
        self._references = dict(references)
        self._allow_keepdim = allow_keepdim
        self._results: dict[str, Check] = {}

    @property
    def gradient_names(self) -> list[str]:
        """The gradients of this exercise, in the order they are asked for: ['dlogprobs', ...]."""
        return [f"d{name}" for name in self._references]

    def result(self, label: str, yours, *, record: bool = True) -> Check:
        """Check `yours` as the gradient `label` and remember it for the scoreboard (unless
        `record` is False); never raises."""
        name = label[1:] if isinstance(label, str) and label.startswith("d") else label
        if name not in self._references:
            return Check(str(label), Status.INVALID,
                         f"there is no gradient called {label!r} in {self.title}; "
                         f"the names are {', '.join(self.gradient_names)}.")
        error = answer_cells.raised(str(label))
        if error is not None:  # what `yours` holds is a placeholder or an earlier run's answer
            check = Check(f"d{name}", Status.NOT_DONE, f"not done yet: your answer cell above raised {error}. "
                                                       f"Fix it and run it again, then this check.")
            if record:
                self._results[name] = check
            return check
        broken = broken_rule(self.lesson) if self.lesson else None
        if broken:
            check = Check(f"d{name}", Status.INVALID, broken)
            if record:
                self._results[name] = check
            return check
        reference = self._references[name]
        check = compare(f"d{name}", yours, reference.expected, reference.truth, of=name,
                        allow_keepdim=self._allow_keepdim, mistakes=reference.mistakes,
                        n=self.batch_size)
        upstream_shape = self._upstream_shape(name, yours, check)
        if upstream_shape is not None:  # it says which earlier answer to fix: nothing to add
            check = upstream_shape
        else:
            if check.status is Status.WRONG and self.chain is not None:
                check = self._given_earlier_answers(name, yours, check)
            if check.status is Status.WRONG:
                check = replace(check, reason=check.reason + self._earlier_failure(name))
        if check.status is Status.NOT_DONE and check.label in self._written_by:
            check = replace(check, reason=f"not done yet: {check.label} comes from {self._written_by[check.label]}, "
                                          f"which has not returned it (the line printed above says why): fix it, "
                                          f"then run its cell, the cell that calls it, and this one.")
        if self._numbers_from_seed and check.status in (Status.CORRECT, Status.WRONG):
            check = self._typed_in(check)
        if isinstance(yours, torch.Tensor) and check.status in (Status.CORRECT, Status.CARRIED, Status.WRONG):
            check = replace(check, reason=check.reason + self._shared_memory(name, yours))
        if record:
            self._results[name] = check
            if check.status in (Status.CORRECT, Status.CARRIED, Status.WRONG):
                self._answers[name] = torch.as_tensor(yours).detach().clone()
                if isinstance(yours, torch.Tensor):
                    self._tensors[name] = yours
        return check

    def _shared_memory(self, name: str, yours: torch.Tensor) -> str:
        """A note when this answer is the same memory as an earlier one and that earlier answer has
        changed since its check (`dlogits = dnorm_logits`, then `dlogits += ...`): the in-place change
        silently rewrote a checked answer. Sharing alone (`dm = dq` for a sum) says nothing."""
        for earlier, tensor in self._tensors.items():
            if earlier == name or tensor.untyped_storage().data_ptr() != yours.untyped_storage().data_ptr():
                continue
            if torch.equal(tensor.detach(), self._answers[earlier]):
                continue
            return (f". Note: d{name} is the same memory as your d{earlier}, so the in-place change (`+=`) "
                    f"that made d{name} has also changed d{earlier} since its check. Start from a copy, "
                    f"`d{name} = d{earlier}.clone()`, as the lecture does")
        return ""

    def _upstream_shape(self, name: str, yours, check: Check) -> Check | None:
        """A failed step built from an earlier answer that has the wrong shape (`dcounts_sum_inv` of
        shape (32,) for a (32, 1)): the upstream broadcast differently, so this step's shape or values
        say nothing of the step itself, and a hint drawn from them (sum over a dimension) would
        mislead. The check names the upstream answer instead; None when there is no such answer."""
        if self.chain is None or check.status not in (Status.WRONG, Status.INVALID):
            return None
        misshapen = [c for c in self.chain.consumers.get(name, []) if c in self._answers
                     and c in self.chain.shapes and self._answers[c].shape != self.chain.shapes[c]
                     and not self._results[c].passed]  # a (64,) for a (1, 64) passes: it broadcasts alike
        if not misshapen:
            return None
        if check.status is Status.INVALID and not (isinstance(yours, torch.Tensor)
                                                   and yours.shape != self._references[name].expected.shape):
            return None  # cannot be checked for another reason (dtype, NaN, ...): that sentence stands
        upstream = " and ".join(f"your d{c} has shape {tuple(self._answers[c].shape)} where {c} has shape "
                                f"{tuple(self.chain.shapes[c])}" for c in misshapen)
        first = f"d{misshapen[0]}"
        said = (f"d{name} is built from d{', d'.join(misshapen)}, and {upstream}, so it broadcasts differently "
                f"from the gradient it stands for: fix {first} first (see its check), then run this cell again")
        if check.status is Status.INVALID:
            expected = self._references[name].expected
            return replace(check, reason=f"d{name} has shape {tuple(yours.shape)}, but {name} has shape "
                                         f"{tuple(expected.shape)}. {said}.")
        return replace(check, reason=f"{check.reason}. {said}")

    def _given_earlier_answers(self, name: str, yours, check: Check) -> Check:
        """A wrong answer judged again, on the learner's own answers for the tensors computed from
        this one: right given those (wrong only because one of them is), or wrong in itself. A step
        whose upstream answers are not all checked yet is judged against autograd alone."""
        consumers = [c for c in self.chain.consumers.get(name, []) if c != "loss"]
        if any(c not in self._answers for c in consumers) or typed_in_number(f"d{name}") is not None:
            return check  # nothing to judge it on, or numbers typed in: those are not a step done right
        wrong = [c for c in consumers if not self._results[c].passed]
        if not wrong:
            return check  # the upstream is right: this step is wrong in itself
        reference = self.chain.given(name, {c: self._answers[c] for c in consumers})
        if reference is None or self._degenerate(name, yours, reference):
            return check
        given = compare(f"d{name}", yours, reference.expected, reference.truth, of=name,
                        allow_keepdim=self._allow_keepdim, n=self.batch_size)
        yours_upstream = ", ".join(f"d{c}" for c in wrong)
        if not given.passed:
            return replace(check, reason=check.reason + f". It is not right given your {yours_upstream} either: "
                                                         f"this step itself needs fixing")
        first = self._first_wrong(name)
        # exact/approx/maxdiff stay measured against autograd's own gradient, which this differs from
        how = "bit for bit" if given.exact else "within float32 rounding"
        return replace(check, status=Status.CARRIED, reason=(
            f"right given your {yours_upstream}: it is what autograd's own step makes of "
            f"{'it' if len(wrong) == 1 else 'them'}, {how}. It differs from autograd only because "
            f"d{first}, earlier in the backward pass, is wrong: fix d{first}, then check the steps after it again"))

    def _degenerate(self, name: str, yours, given: Reference) -> bool:
        """Whether a step given the learner's upstream shows no work: what it should be is met by
        zeros (zeros upstream give zeros here), or the answer is one constant repeated that meets
        it, while autograd's own gradient is met by neither. Such a step earns no carried credit,
        so a sheet of zeros, or of constants, scores only the steps whose true gradient is zero
        (those pass against autograd itself). Real work that lands near a constant keeps its
        credit: its float32 rounding differs from element to element."""
        candidates = [torch.zeros_like(given.expected)]
        flat = torch.as_tensor(yours).detach().reshape(-1)
        if flat.numel() > 1 and bool((flat == flat[0]).all()):
            candidates.append(torch.full_like(given.expected, flat[0].item()))
        reference = self._references[name]
        for trivial in candidates:
            fits = lambda r: compare(f"d{name}", trivial, r.expected, r.truth, of=name,  # noqa: E731
                                     allow_keepdim=self._allow_keepdim).passed
            if fits(given) and not fits(reference):
                return True
        return False

    def _first_wrong(self, name: str) -> str:
        """The step nearest the loss, among those this one depends on, that is wrong in itself."""
        found, todo, seen = [], [name], set()
        while todo:
            for consumer in self.chain.consumers.get(todo.pop(), []):
                result = self._results.get(consumer)
                if consumer in seen or result is None or result.passed:
                    continue
                seen.add(consumer)
                if result.status is Status.WRONG:
                    found.append(consumer)
                else:
                    todo.append(consumer)
        order = list(self._references)
        return min(found, key=lambda c: order.index(c) if c in order else len(order)) if found else name

    def _typed_in(self, check: Check) -> Check:
        literal = typed_in_number(check.label)
        if literal is None:
            return check
        return Check(check.label, Status.INVALID,
                     f"`{check.label} = {literal}` is typed in as a number: it can only fit this seed's "
                     f"numbers, and the grader draws others, so it would score 0. Write {check.label} as an "
                     f"expression of the lesson's variables (the values printed above), as autograd would.")

    def _earlier_failure(self, name: str) -> str:
        """Answers build on the ones before them: point at the first earlier answer that failed."""
        for earlier in self._references:
            if earlier == name:
                return ""
            result = self._results.get(earlier)
            if result is not None and not result.passed:
                return (f". d{earlier}, earlier in the backward pass, is not correct yet; "
                        f"if this gradient uses it, fix d{earlier} first")
        return ""

    def check(self, label: str, yours) -> None:
        """Show the report for one gradient; raise CheckFailed (one line, no traceback) unless correct,
        or right given the learner's earlier answers (then the grader's policy on carried-forward
        steps decides). Raising is what makes an nbgrader test cell score 0."""
        check = self.result(label, yours)
        show(check)
        # In a graded kernel the hidden test after this line decides, and must always run: it also
        # keeps the learner's answer for judging the steps after it on their own upstream.
        # While nbgrader validates, the scoreboard names every step not yet right at once (validated).
        if not check.passed and check.status is not Status.CARRIED and not graded() and not validating():
            # nbgrader's Validate shows this line alone, without the report
            said = check.reason.removeprefix(f"{check.status.value}: ") if nbgrader_validating() else "see the report above."
            raise CheckFailed(f"{check.label} {_FAILURE_PHRASE[check.status]}: {said}")

    def hint(self, label: str) -> None:
        """The next hint for one gradient, a level further at each call: where its tensor is used
        and the shape it has; the local derivative of each of those lines; then how the pieces fit
        together, in words and maths: which sums, over which dimension, keeping which shape, which
        shapes meet, which local derivative multiplies which upstream gradient. Never a line of the
        answer, not even with names blanked, and nothing of it counts in the grade."""
        name = label[1:] if isinstance(label, str) and label.startswith("d") else label
        if name not in self._references:
            print(f"There is no gradient called {label!r} in {self.title}; the names are {', '.join(self.gradient_names)}.")
            return
        levels = list(self._hints.get(name) or ())
        if self.chain is not None and (not levels or levels[0] is None):
            levels = [self.chain.where_used(name), *levels[1:]]
        if not levels:
            print(f"No hints are written for d{name}.")
            return
        shown = self._hints_shown.get(name, 0)
        if shown >= len(levels):
            show(Hint(f"d{name}", None, len(levels), f"the answer itself is yours to write. "
                                                      f"`ex.preview(\"d{name}\", d{name})` tries an answer without counting it."))
            return
        self._hints_shown[name] = shown + 1
        show(Hint(f"d{name}", shown + 1, len(levels), levels[shown]))

    def preview(self, label: str, yours) -> None:
        """Show the report for an answer without counting it or raising: for trying things out."""
        show(self.result(label, yours, record=False))

    def plot(self, label: str, yours) -> None:
        """Where a 2-D gradient is wrong: a heatmap of |yours - reference|, worst element circled.
        Anything that cannot be plotted gets the check's sentence instead."""
        check = self.result(label, yours, record=False)
        if check.status in (Status.NOT_DONE, Status.INVALID) or yours.dim() != 2:
            show(check)
            return
        expected = self._references[check.label[1:]].expected
        difference_plot(check.label, yours.reshape(expected.shape), expected)

    @staticmethod
    def _not_checked(name: str) -> str | None:
        error = answer_cells.raised(f"d{name}")
        return f"not done yet: your answer cell raised {error}. Fix it, run it, then its check." if error else None

    def summary(self) -> Scoreboard:
        """The scoreboard: every gradient of the exercise with its latest check (see report.validated)."""
        return validated(self.scoreboard())

    def scoreboard(self) -> Scoreboard:
        """The scoreboard, never raising."""
        not_checked = "not checked yet: run its answer cell and the check below it."
        checks = [self._results.get(name) or Check(f"d{name}", Status.NOT_DONE, self._not_checked(name) or not_checked)
                  for name in self._references]
        return Scoreboard(self.title, checks)
