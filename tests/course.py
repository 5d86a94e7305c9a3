"""Paths and helpers for tests that drive the course's real tools (make, nbgrader, JupyterLab)."""

import re
import subprocess
from pathlib import Path

from checker.grading.notebooks import nbgrader_meta, read, solution_code, solutions_by_id, tool_environment, with_answers  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
ENV = tool_environment()


def run(*command, cwd=ROOT, timeout=600, env=None):
    """Run a command; on failure, fail with its output (stdout and stderr) in the message."""
    done = subprocess.run(command, cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def notebooks(folder: Path):
    return sorted(p.relative_to(folder) for p in folder.glob("*/*.ipynb"))



# How a check says an answer is not written yet (the checker's words for a placeholder, an unrun
# answer cell, an untrained network): a blank lesson's graded cells must fail this way, and no other.
NOT_DONE = re.compile(r"not done yet|not usable yet|is still a placeholder|not checked yet|not trained yet")


def not_done_failure(outputs) -> str | None:
    """The error's value if a cell's outputs hold exactly one error, the checker's CheckFailed
    saying the answer is not done yet; else None."""
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if [e.get("ename") for e in errors] == ["CheckFailed"] and NOT_DONE.search(errors[0].get("evalue", "")):
        return errors[0]["evalue"]
    return None


def fetched_from_the_network(page: str) -> list[str]:
    """What an HTML page loads from elsewhere (scripts, styles, images): a page that renders offline
    loads nothing; its maths needs MathJax inside it (checker/grading/feedback.py)."""
    found = re.findall(r"<(?:script|img|iframe)[^>]*\ssrc=[\"']?(https?://[^\"' >]+)"
                       r"|<link[^>]*\shref=[\"']?(https?://[^\"' >]+)", page)
    from checker.grading.feedback import _mathjax_script

    whole = "window.MathJax = {" in page and page.count(f"<script>{_mathjax_script()}</script>") == 1
    return [a or b for a, b in found] + ([] if whole else ["MathJax is not in the page, whole and once"])


def through_the_grader(module, key: str, label: str, yours):
    """What the grader judges of a code answer: the lesson's `probe` run as a graded kernel runs it,
    handed out as JSON and decoded (checker/handout.py)."""
    import json

    from checker.handout import Probed, decode, encode

    return Probed(decode(json.loads(json.dumps(encode(module.probe(key, label, yours))))))


# What holds a checker's answers: an exercise (its references), a reference, a case with its slips.
ANSWER_HOLDERS = ("_exercises", "_references", "truth", "expected", "mistakes", "output_mistakes")


def checker_frames_holding_answers() -> list[str]:
    """Called from a learner's code: what the checker's frames above it hold that would give an
    answer away (an object with references, a reference, a case with its slips), by where it is.
    What a learner's code can reach with frame introspection, as a cheat in the kernel would."""
    import inspect
    import os

    import checker

    package = os.path.dirname(checker.__file__)
    found = []
    frame = inspect.currentframe().f_back
    while frame is not None:
        if frame.f_code.co_filename.startswith(package):
            for name, value in frame.f_locals.items():
                for item in ([value] + (list(value.values()) if isinstance(value, dict) else
                                        list(value) if isinstance(value, (list, tuple)) else [])):
                    if not isinstance(item, type) and any(hasattr(item, a) for a in ANSWER_HOLDERS):
                        found.append(f"{frame.f_code.co_name}: {name}")
        frame = frame.f_back
    return found
