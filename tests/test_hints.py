"""Hints on demand: `ex.hint("dX")` for every graded gradient of lessons 1 and 3 and Exercises 1-4,
three levels, one more at each call, never the answer (not even with names blanked), and nothing
of it recorded. Exercises 2 and 3 leave their final expression to the learner: only a hint states it."""

import functools
import re

import pytest

from checker.grading import verify
from checker.lessons import chain_rule, digits_mlp, makemore, training, transfer, transfer_hints
from course import SOLUTIONS, notebooks, read

LESSONS_WITH_HINTS = ("01_", "03_", "04_", "05_", "06_", "07_", "09_")
HIDDEN_CALL = re.compile(r'hidden_check"\]\("([a-z_0-9:]+)", "([A-Za-z_0-9]+)"')
HINT_MODULES = (chain_rule, digits_mlp, makemore, training, transfer_hints)
BLANK = "___"


def graded_gradients():
    """(exercise, label) of every graded gradient, read from the hidden tests of the solutions
    (lesson 3's evaluation functions are not gradients: their checks say what is wrong case by case)."""
    found = []
    for relpath in notebooks(SOLUTIONS):
        if relpath.parts[0].startswith(LESSONS_WITH_HINTS):
            for cell in read(SOLUTIONS / relpath).cells:
                found += [call for call in HIDDEN_CALL.findall(cell.source) if call[1].startswith("d")]
    return sorted(set(found))


@functools.cache
def build(exercise: str):
    """One exercise per name: building Exercise 4 trains nothing but computes references, so once is enough."""
    modules = {"makemore": makemore, "chain_rule": chain_rule, "digits_mlp": digits_mlp, "transfer": transfer}
    if exercise in verify.EXERCISES:
        return verify.EXERCISES[exercise](type("Lessons", (), {"makemore": makemore, "training": training}))
    module, factory = exercise.split(":")
    return getattr(modules[module], factory)()


def normalise(text: str) -> str:
    """Code and prose compared alike: backticks dropped, whitespace collapsed, and none kept next to
    an operator or bracket (`dX = dY @ W.T` and `dX=dY@W.T` are the same line)."""
    text = re.sub(r"\s+", " ", text.replace("`", " ")).strip()
    return re.sub(r" ?([^\w ]) ?", r"\1", text)


def solution_lines() -> set:
    """Every line between `### BEGIN SOLUTION` and `### END SOLUTION` of every solution notebook,
    comments dropped, normalised; lines too short to tell from maths (`dg = q`, `du = 3`) left out."""
    lines = set()
    for relpath in notebooks(SOLUTIONS):
        for cell in read(SOLUTIONS / relpath).cells:
            for body in re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", cell.source, re.S):
                lines |= {normalise(line.split("#")[0]) for line in body.splitlines()}
    return {line for line in lines if len(line) >= 5}


SOLUTION_LINES = solution_lines()
# A name, a number (negative too), or an indexed or dotted expression: what a blank stands for.
WILDCARD = r"[\w.\[\]\"'-]+"


def with_blanks(line: str) -> re.Pattern:
    """A pattern for `line` as a hint could quote it: any of its names or numbers may be a blank, and
    right after a blank the rest of what it stood for (operators, brackets) may be missing too."""
    pieces = re.findall(r"\w+(?:\.\d+)?|[^\w]", line)
    pattern = "".join(
        f"(?:{re.escape(piece)}|{BLANK}|(?<={BLANK}))" if re.match(r"\w", piece) else f"(?:{re.escape(piece)}|(?<={BLANK}))"
        for piece in pieces)
    pattern = pattern.replace(f"|(?<={BLANK})", "", 1)  # a quote starts where the line does, blank or not
    start = r"(?<![\w.])" if re.match(r"\w", line) else ""
    end = r"(?!\w)" if re.search(r"\w$", line) else ""
    return re.compile(start + pattern + end)


BLANKED_LINES = {line: with_blanks(line) for line in SOLUTION_LINES}


def mostly_spelt_out(quoted: str, line: str) -> bool:
    """Whether a quote of `line` shows at least half of it, blanks aside: one blank standing for a
    whole line (`class Value:` matched by a lone `___`) is not a quote of that line."""
    spelt = len(quoted.replace(BLANK, ""))
    return spelt >= 3 and spelt * 2 >= len(line)


def code_fragments(hint: str) -> list[str]:
    """The code a hint quotes, in backticks, when it looks like code (an operator, a bracket or a blank)."""
    quoted = [normalise(code) for code in re.findall(r"`([^`]+)`", hint)]
    return [code for code in quoted if len(code) >= 6 and (BLANK in code or re.search(r"[=@*/+\-(\[]", code))]


def blanked_solution_lines(hint: str) -> list[str]:
    """The solution lines a hint gives away: verbatim, with some names blanked, or a quoted
    fragment with blanks that fills in to (part of) a solution line."""
    text = normalise(hint)
    found = [line for line, pattern in BLANKED_LINES.items()
             if any(mostly_spelt_out(match.group(), line) for match in pattern.finditer(text))]
    for fragment in code_fragments(hint):
        pattern = re.compile(fragment_pattern(fragment))
        found += [line for line in SOLUTION_LINES if pattern.search(line)]
    return found


def fragment_pattern(fragment: str) -> str:
    """A quoted fragment as a pattern: a blank stands for any name or number, and in a fragment with
    a blank every variable may be renamed too (`dl2 * (l1 > ___).float()` is `dout * (inp > 0).float()`
    in the learner's own function); attributes and methods (`.T`, `.sum`) stay as written."""
    if BLANK not in fragment:
        return re.escape(fragment)
    pieces = re.findall(rf"{BLANK}|(?<!\.)\b[A-Za-z_]\w*|.", fragment)
    return "".join(WILDCARD if piece == BLANK else r"\w+" if re.fullmatch(r"[A-Za-z_]\w*", piece) else re.escape(piece)
                   for piece in pieces)


def every_hint_text() -> list[tuple[str, str]]:
    """(where, text) of every level of every hint dict of the lesson modules, nested ones included."""
    found = []

    def walk(where, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{where}[{key!r}]", inner)
        elif isinstance(value, tuple):
            found.extend((f"{where} level {level}", text) for level, text in enumerate(value, 1) if text)

    for module in HINT_MODULES:
        for name, value in vars(module).items():
            if re.fullmatch(r"[A-Z_]*HINTS(_\d+)?", name) and isinstance(value, dict):
                walk(f"{module.__name__}.{name}", value)
    return found


def test_every_graded_gradient_of_these_lessons_is_found():
    gradients = graded_gradients()
    # lesson 1, lesson 3 (by hand, Modules, base class, classifier), Exercises 1-4, lesson 9
    assert len(gradients) == 25 + 7 + 4 + 4 + 4 + 26 + 1 + 3 + 7 + 15


@pytest.mark.parametrize("exercise, label", graded_gradients(), ids=lambda v: v)
def test_three_levels_one_more_at_each_call_never_the_answer(exercise, label, capsys):
    ex = build(exercise)
    before = ex.summary().headline()
    shown = []
    for _ in range(4):
        ex.hint(label)
        shown.append(capsys.readouterr().out.strip())
    for level, text in enumerate(shown[:3], 1):
        assert text.startswith(f"Hint {level} of 3 for {label}"), text
        assert len(text) > len(f"Hint {level} of 3 for {label}: ") + 10
    assert shown[3].startswith(f"That was the last hint for {label}")
    given_away = {line: text for text in shown[:3] for line in blanked_solution_lines(text)}
    assert not given_away, f"a hint gives a line of a solution away: {given_away}"
    assert ex.summary().headline() == before  # asking for hints is not recorded


def test_the_solution_lines_are_read():
    """The lines the tests below look for: from every lesson, the fused answers included."""
    for line in ("dhpreact=(1.0-h**2)*dh", "dlogits/=n", "de=2*dm", "dS=active/N", "dC[Xb[k,j]]+=demb[k,j]",
                 "dhprebn=bngain*bnvar_inv/n*(n*dhpreact-dhpreact.sum(0)-n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))"):
        assert line in SOLUTION_LINES, line


@pytest.mark.parametrize("hint", [
    "`dlogits = F.softmax(___, 1)`, `dlogits[range(n), Yb] -= ___`, then `dlogits /= ___`",  # Exercise 2's old level 3
    "`dhprebn = ___.clone()`, then `dhprebn += 1.0/___ * (torch.ones_like(hprebn) * dbnmeani)`",
    "`dbndiff2 = (1.0/(___)) * torch.ones_like(bndiff2) * dbnvar`",  # a blank for an expression, n-1
    "`dZ = P * (dP - (P * dP).sum(1, keepdim=___))`",
    "the sum passes it on: dm = ___",  # unquoted
    "`___.T @ dout`",  # a fragment of a line
    "`2 * (out.squeeze(-1) - ___)[:, None] / ___`",
    "`dl2 * (l1 > ___).float()`",  # the lesson's names for the learner's function's
    "`dcounts_sum = (-counts_sum**___) * dcounts_sum_inv`",  # a blank for a negative number
    "it is dW2 = h.T @ dlogits",  # verbatim
])
def test_the_search_finds_a_blanked_or_quoted_solution_line(hint):
    assert blanked_solution_lines(hint), hint


@pytest.mark.parametrize("hint", [
    "dW_kj = Σ_i X_ik dY_ij, a sum over the 6 batch rows: X (6, 4) and dY (6, 3) meet on the 6 once X is turned over",
    "dy/du = 3 and du/dx = 2x; the chain rule multiplies them.", "e has one use, in m = 2e",
    "dlogits = (softmax(logits) - onehot(Yb)) / n",
])
def test_the_search_leaves_maths_and_words_alone(hint):
    assert not blanked_solution_lines(hint), blanked_solution_lines(hint)


@pytest.mark.parametrize("where, text", every_hint_text(), ids=lambda v: v if len(v) < 60 else None)
def test_no_hint_at_any_level_holds_a_solution_line(where, text):
    """Not verbatim and not with names blanked: the last level says how the pieces fit together, in
    words and maths, and leaves the code to the learner."""
    assert not blanked_solution_lines(text), (where, text, blanked_solution_lines(text))
    assert not [line for line in SOLUTION_LINES if line in normalise(text)], (where, text)


def test_every_hint_dict_is_searched():
    names = {where.split("[")[0] for where, _ in every_hint_text()}
    assert {"checker.lessons.chain_rule.BLOCK_HINTS", "checker.lessons.digits_mlp.CLASSIFIER_HINTS",
            "checker.lessons.makemore.HINTS_3", "checker.lessons.training.HINTS",
            "checker.lessons.transfer_hints.HINTS"} <= names


def latex_free(text: str) -> str:
    """Markdown with its LaTeX markup, code quotes and every space dropped, lower case: a formula
    reads the same whether typeset or typed."""
    for markup in (r"\operatorname", r"\text", r"\left", r"\right", r"\mathrm", "$", "`", "{", "}"):
        text = text.replace(markup, "")
    return re.sub(r"\s+", "", text).lower()


# What the lessons of the fused exercises used to end their derivation with: the final expression
# (typeset) and the recipe that spells it out. The last hint states it; the markdown leaves it to you.
FINAL_EXPRESSIONS = {
    "05_": ("softmax(logits)-onehot(y_b)", "softmax(logits)-onehot(yb)", "subtract1", "dividebyn",
            "f.softmax(logits,1)"),
    "06_": (r"\frac\gammasn", r"ng_i-\sum_jg_j", r"\hatx_i\sum_jg_j\hatx_j", r"\fracnn-1\hatx_i"),
}


@pytest.mark.parametrize("prefix", sorted(FINAL_EXPRESSIONS))
def test_the_fused_lessons_leave_the_final_expression_to_the_learner(prefix):
    (relpath,) = [p for p in notebooks(SOLUTIONS) if p.parts[0].startswith(prefix)]
    cells = read(SOLUTIONS / relpath).cells
    prose = [cell.source for cell in cells if cell.cell_type == "markdown"]
    assert any("Deriving" in text for text in prose)  # the derivation is still there
    answers = set()
    for cell in cells:
        for body in re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", cell.source, re.S):
            answers |= {normalise(line.split("#")[0]) for line in body.splitlines()} - {""}
    for text in prose:
        assert not [line for line in answers if line in normalise(text)], text
        assert not [formula for formula in FINAL_EXPRESSIONS[prefix] if formula in latex_free(text)], text


def test_the_last_hint_states_the_fused_formulas_in_maths(capsys):
    """Where the lessons stop, the last level goes on: the formula, in maths (checked above: not as code)."""
    setup = makemore.MakemoreSetup()
    for ex, label, formula in ((makemore.exercise2(setup), "dlogits", "(softmax(logits) - onehot(Yb)) / n"),
                               (makemore.exercise3(setup), "dhprebn", "n/(n-1) x̂_i Σ_j g_j x̂_j")):
        for _ in range(3):
            ex.hint(label)
        assert formula in capsys.readouterr().out.strip().splitlines()[-1]


def test_an_unknown_gradient_gets_one_sentence(capsys):
    makemore.exercise2(makemore.MakemoreSetup()).hint("dW9")
    assert capsys.readouterr().out.startswith("There is no gradient called 'dW9' in Exercise 2")
