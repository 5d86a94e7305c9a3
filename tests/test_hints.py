"""Hints on demand: `ex.hint("dX")` for every graded gradient of lessons 1 and 3 and Exercises 1-3,
three levels, one more at each call, never the answer, and nothing of it recorded."""

import re

import pytest

from checker.grading import verify
from checker.lessons import chain_rule, digits_mlp, makemore
from course import SOLUTIONS, notebooks, read

LESSONS_WITH_HINTS = ("01_", "03_", "04_", "05_", "06_")
HIDDEN_CALL = re.compile(r'hidden_check"\]\("([a-z_0-9:]+)", "([A-Za-z_0-9]+)"')


def graded_gradients():
    """(exercise, label) of every graded gradient, read from the hidden tests of the solutions
    (lesson 3's evaluation functions are not gradients: their checks say what is wrong case by case)."""
    found = []
    for relpath in notebooks(SOLUTIONS):
        if relpath.parts[0].startswith(LESSONS_WITH_HINTS):
            for cell in read(SOLUTIONS / relpath).cells:
                found += [call for call in HIDDEN_CALL.findall(cell.source) if call[1].startswith("d")]
    return sorted(set(found))


def build(exercise: str):
    modules = {"makemore": makemore, "chain_rule": chain_rule, "digits_mlp": digits_mlp}
    if exercise in verify.EXERCISES:
        return verify.EXERCISES[exercise](type("Lessons", (), {"makemore": makemore, "training": None}))
    module, factory = exercise.split(":")
    return getattr(modules[module], factory)()


def solution_lines():
    lines = set()
    for relpath in notebooks(SOLUTIONS):
        for cell in read(SOLUTIONS / relpath).cells:
            if "### BEGIN SOLUTION" in cell.source:
                body = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
                lines |= {line.split("#")[0].strip() for line in body.splitlines() if "=" in line}
    return {line for line in lines if len(line) > 8}


def test_every_graded_gradient_of_these_lessons_is_found():
    gradients = graded_gradients()
    assert len(gradients) == 25 + 7 + 4 + 4 + 4 + 26 + 1 + 3  # lesson 1, lesson 3 (by hand, Modules, base class, classifier), Exercises 1-3


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
    assert "___" in shown[2]  # the pattern, with names blanked
    assert shown[3].startswith(f"That was the last hint for {label}")
    answers = solution_lines()
    assert not [line for line in answers for text in shown if line in text], "a hint gives an answer away"
    assert ex.summary().headline() == before  # asking for hints is not recorded


def test_an_unknown_gradient_gets_one_sentence(capsys):
    makemore.exercise2(makemore.MakemoreSetup()).hint("dW9")
    assert capsys.readouterr().out.startswith("There is no gradient called 'dW9' in Exercise 2")
