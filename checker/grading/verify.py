"""Hidden grading checks: a second opinion that does not trust the learner's namespace.

This is the one file of `checker.grading` that runs inside a graded kernel, not in the grader.

A graded cell's hidden test executes this file's source afresh (`exec`), from the folder the
grader wrote into the test (preprocessors.LocateHiddenTests), rather than importing it, so
redefining or monkeypatching `ex`, `checker.compare` or this module in the notebook changes
nothing here. It then loads a private, pristine copy of the checker package from its files,
rebuilds the exercise's references from the seed the grader gave the kernel, and checks the
answer again. Whether the learner's cells broke the lesson's rules is decided outside the kernel
(preprocessors.ApplyRules), not here.

Only the standard library is imported at top level: this file runs outside its package.
"""

import importlib.util
import os
import sys

KEY_ENV_VAR = "BACKPROP_NINJA_GRADING_KEY"  # makes the pristine copy's module name unguessable

# The makemore exercises by their short names. Any other lesson names its exercise as
# "module:factory", a function of checker.lessons.<module> that builds the Exercise from seed_from_env().
EXERCISES = {
    "exercise1": lambda lessons: lessons.makemore.exercise1(lessons.makemore.MakemoreSetup()),
    "exercise2": lambda lessons: lessons.makemore.exercise2(lessons.makemore.MakemoreSetup()),
    "exercise3": lambda lessons: lessons.makemore.exercise3(lessons.makemore.MakemoreSetup()),
    "exercise4": lambda lessons: lessons.training.exercise4(
        lessons.makemore.MakemoreSetup(n_hidden=lessons.training.N_HIDDEN)),
}


def _pristine_checker():
    """A private copy of the checker package, loaded from its files once per kernel."""
    name = "_backprop_ninja_pristine_" + os.environ.get(KEY_ENV_VAR, "local")
    if name not in sys.modules:
        # the hidden cell sets __file__ for exec: <checker>/grading/verify.py
        folder = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package  # the package's relative imports resolve through sys.modules
        spec.loader.exec_module(package)
        importlib.import_module(f"{name}.handout")
        importlib.import_module(f"{name}.environment")
        for lesson in ("makemore", "training"):  # not imported by the package's __init__
            importlib.import_module(f"{name}.lessons.{lesson}")
        package.exercises = {}
    return sys.modules[name]


def _lesson_module(checker, exercise: str):
    name = "makemore" if exercise in ("exercise1", "exercise2", "exercise3") else \
        "training" if exercise == "exercise4" else exercise.split(":")[0]
    return importlib.import_module(f"{checker.__name__}.lessons.{name}")


def factory(checker, exercise: str):
    module = _lesson_module(checker, exercise)
    return getattr(module, exercise if exercise.startswith("exercise") else exercise.split(":")[1])


def judged_in_grader(checker, exercise: str) -> bool:
    """Exercises whose factory is decorated with handout.exercise_factory: their answers are handed
    out and judged in the grader (judge.py asks the same question through this function)."""
    return getattr(factory(checker, exercise), "exercise_key", None) is not None


def _plain(checker, exercise: str, label: str, yours):
    """The answer as data: a tensor's numbers, or what the learner's code returned on the lesson's
    own inputs (its module's `probe`, for a factory with code answers), never an object of theirs."""
    if getattr(factory(checker, exercise), "code_answers", False):
        return checker.handout.encode(_lesson_module(checker, exercise).probe(exercise, label, yours))
    return checker.handout.encode(yours)


def build_exercise(checker, exercise: str):
    """The exercise with its references, from seed_from_env(); here for the nbval path, and for the
    grader's judge (judge.build), which sets the seed."""
    if exercise in EXERCISES:
        for lesson in ("makemore", "training"):  # not imported by the package's __init__
            importlib.import_module(f"{checker.__name__}.lessons.{lesson}")
        return EXERCISES[exercise](checker.lessons)
    return factory(checker, exercise)()


def hidden_check(exercise: str, label: str, yours) -> None:
    """In a graded kernel: hand `yours` to the grader as plain data (checker/handout.py), to be
    judged in the grader's own process (checker/grading/judge.py); nothing here decides. Elsewhere
    (nbval, make validate): raise (so the cell scores 0) unless `yours` is right by the pristine
    references."""
    checker = _pristine_checker()
    if checker.environment.graded() and judged_in_grader(checker, exercise):
        checker.handout.hand_in(exercise, label, _plain(checker, exercise, label, yours))
        return
    if exercise not in checker.exercises:
        checker.exercises[exercise] = build_exercise(checker, exercise)
    result = checker.exercises[exercise].result(label, yours)
    if result.status is checker.Status.CARRIED:  # the grader applies the course's credit for these
        raise checker.CarriedForward(f"the grader's own check of {label}: {result.reason}")
    if not result.passed:
        raise checker.CheckFailed(f"the grader's own check of {label}: {result.status.value}, {result.reason}")
