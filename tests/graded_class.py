"""One scratch class for every test file that grades submissions: each file contributes its own
students (a function `class_submissions()`), `make grade` runs once over all of them, and each
file reads back only its own rows. CI's time goes to grading, not to starting `make grade` six
times; identical notebooks (a full answer sheet, a blank lesson) are graded once.

A student's id in the class is "<file>--<student>", e.g. "grade_e2e--full"; `ClassView` hides it.
Both pytest-xdist workers share the one class: the first to ask grades it, the other waits on a
file lock and reads what was written (tests/conftest.py, fixture `graded_class`).
"""

import csv
import importlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat
from filelock import FileLock

from checker.grading.run import scratch_course
from course import ENV, run

# The test files whose submissions go into the class, and the lessons plain `nbgrader autograde`
# grades again (for the files that compare its scores with `make grade`'s).
CONTRIBUTORS = ("test_carried_forward", "test_code_answers_e2e", "test_edited_notebooks", "test_grade_e2e", "test_grading",
                "test_grading_integrity", "test_transfer", "test_verdicts_in_grader")
PLAIN_LESSONS = ("04_makemore_atomic_backprop", "05_makemore_fused_cross_entropy", "09_transfer_new_layers")
PLAIN_CONTRIBUTORS = ("test_edited_notebooks", "test_grading_integrity", "test_transfer", "test_verdicts_in_grader")
GRADE_ARGS = "--jobs 2 --cell-timeout 20"  # the class's one endless loop waits this long (a right cell stopped by it would lose points, and its test would say so)
SEPARATOR = "--"
# what grading itself writes outside autograded/ and feedback/
GRADING_WRITES = ("gradebook.db", "grades.csv", "grades_canvas.csv", ".grading_secret", ".grading.lock",
                  "report", "report/index.html", "report/checks.csv")


def prefix(module_name: str) -> str:
    return module_name.removeprefix("test_")


def _files(folder: Path) -> set:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _key(student: str, lesson: str) -> str:
    return f"{student}/{lesson}"


def _build_and_grade(folder: Path) -> dict:
    submissions, overrules = {}, {}
    for name in CONTRIBUTORS:
        module = importlib.import_module(name)
        for (student, relpath), notebook in module.class_submissions().items():
            submissions[(f"{prefix(name)}{SEPARATOR}{student}", relpath)] = notebook
        for student, note in getattr(module, "OVERRULES", {}).items():
            overrules[f"{prefix(name)}{SEPARATOR}{student}"] = note
    # identical notebooks of one lesson are graded once, under the first student's id:
    # aliases {"<student>/<lesson>": the student id it was graded under}
    aliases, first = {}, {}
    for (student, relpath), notebook in submissions.items():
        text = notebook if isinstance(notebook, str) else nbformat.writes(notebook)
        lesson = Path(relpath).parts[0]
        aliases[_key(student, lesson)] = student if student in overrules else first.setdefault((relpath, text), student)
    (folder / "course").mkdir()
    course = scratch_course(folder / "course", {(s, r): nb for (s, r), nb in submissions.items()
                                                if aliases[_key(s, Path(r).parts[0])] == s})
    from checker.grading.overrules import record_overrule

    for (student, relpath) in submissions:
        if student in overrules:
            record_overrule(course, student, Path(relpath).parts[0], overrules[student])
    before = _files(course)
    done = run("make", "-s", "grade", f"COURSE={course}", f"GRADE_ARGS={GRADE_ARGS}", timeout=3000)
    written = sorted(p for p in _files(course) - before
                     if Path(p).parts[0] not in ("autograded", "feedback", "exchange") and p not in GRADING_WRITES
                     and not (Path(p).parts[0] == "submitted" and Path(p).name == "timestamp.txt"))
    # and inside autograded/ (where each kernel's scratch folder is its own <student>/<lesson>/),
    # nothing outside the submissions' own folders
    graded_folders = {str(Path("autograded", s, Path(r).parts[0])) for s, r in submissions}
    written += sorted(p for p in _files(course) - before if Path(p).parts[0] == "autograded" and
                      len(Path(p).parts) > 2 and str(Path(*Path(p).parts[:3])) not in graded_folders)
    return {"course": str(course), "aliases": aliases, "stdout": done.stdout, "written": written}


def _plain_autograde(folder: Path, graded: dict, rows: dict) -> dict:
    """Scores from nbgrader's own commands, as an instructor following nbgrader's documentation
    would, from a shell whose environment asks for the lessons' own seed and full training: the
    course's configuration decides, not the shell. {"<student id>/<lesson>": score}

    nbgrader autograde grades one notebook at a time: the submissions are split between two copies
    of the course, graded at once, one per core."""
    # a contributor may name which of its students (PLAIN_STUDENTS); by default all of them
    only = {prefix(name): getattr(importlib.import_module(name), "PLAIN_STUDENTS", None) for name in PLAIN_CONTRIBUTORS}
    wanted = {_key(canonical, key.split("/")[1]) for key, canonical in graded["aliases"].items()
              if (start := key.split(SEPARATOR)[0]) in only
              and (only[start] is None or key.split(SEPARATOR, 1)[1].split("/")[0] in only[start])}
    # nbgrader stops at a notebook it cannot grade: make grade did not
    chosen = sorted(key for key, row in rows.items() if key in wanted and row["assignment"] in PLAIN_LESSONS
                    and row["status"] not in ("not graded", "invalid notebook"))
    halves = [chosen[0::2], chosen[1::2]]
    env = {**ENV, "BACKPROP_NINJA_SEED": "2147483647", "BACKPROP_NINJA_FAST": "0", "BACKPROP_NINJA_CHECKER": str(folder)}
    copies = []
    for number, half in enumerate(halves):
        plain = folder / f"plain{number}"
        shutil.copytree(graded["course"], plain, ignore=shutil.ignore_patterns(
            "autograded", "feedback", "submitted", "gradebook.db", "grades.csv"))
        for key in half:
            student, lesson = key.split("/")
            shutil.copytree(Path(graded["course"]) / "submitted" / student / lesson, plain / "submitted" / student / lesson)
        lessons = sorted({key.split("/")[1] for key in half})
        script = " && ".join(f"nbgrader generate_assignment {lesson} --force && nbgrader autograde {lesson} --force"
                             for lesson in lessons)
        copies.append((plain, subprocess.Popen(["bash", "-c", script], cwd=plain, env=env, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, text=True)))
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    for plain, process in copies:
        output, _ = process.communicate(timeout=3000)
        assert process.returncode == 0, output[-5000:]
        with Gradebook(f"sqlite:///{plain / 'gradebook.db'}") as gradebook:
            for lesson in PLAIN_LESSONS:
                try:
                    found = gradebook.find_assignment(lesson).submissions
                except MissingEntry:  # no submission of that lesson in this copy
                    continue
                scores.update({_key(s.student.id, lesson): s.score for s in found})
    return scores


def _once(folder: Path, name: str, make):
    """make() once for all xdist workers: its JSON result kept in `folder`, a failure too."""
    result = folder / f"{name}.json"
    with FileLock(str(folder / f"{name}.lock")):
        if not result.exists():
            try:
                value = {"ok": make()}
            except BaseException as error:  # the other worker reports the same failure, not a second run
                value = {"failed": f"{type(error).__name__}: {error}"}
            result.write_text(json.dumps(value))
    value = json.loads(result.read_text())
    assert "ok" in value, value["failed"]
    return value["ok"]


@dataclass
class GradedClass:
    folder: Path

    def __post_init__(self):
        self.graded = _once(self.folder, "class", lambda: _build_and_grade(self.folder))
        self.course = Path(self.graded["course"])
        with open(self.course / "grades.csv") as f:
            self.rows = {_key(row["student_id"], row["assignment"]): row for row in csv.DictReader(f)}

    def plain_scores(self) -> dict:
        return _once(self.folder, "plain", lambda: _plain_autograde(self.folder, self.graded, self.rows))

    def view(self, module_name: str) -> "ClassView":
        return ClassView(self, prefix(module_name) + SEPARATOR)


@dataclass
class ClassView:
    """One test file's students in the class, by the names the file gave them."""
    whole: GradedClass
    start: str

    def _mine(self) -> dict:
        """{(student, lesson): the key of the row it was graded under}"""
        return {tuple(key.removeprefix(self.start).split("/")): _key(canonical, key.split("/")[1])
                for key, canonical in self.whole.graded["aliases"].items() if key.startswith(self.start)}

    @property
    def rows(self) -> dict:
        """{student: their row of grades.csv} (for a file whose students each did one lesson)"""
        mine = self._mine()
        assert len({student for student, _ in mine}) == len(mine), "a student with several lessons: use rows_by_lesson"
        return {student: self.whole.rows[key] for (student, _), key in mine.items()}

    @property
    def rows_by_lesson(self) -> dict:
        """{(lesson, student): their row of grades.csv}"""
        return {(lesson, student): self.whole.rows[key] for (student, lesson), key in self._mine().items()}

    def path(self, where: str, student: str, relpath: str) -> Path:
        """course/<where>/<the id it was graded under>/<relpath>, relpath "<lesson>/<file>" """
        canonical = self.whole.graded["aliases"][_key(self.start + student, Path(relpath).parts[0])]
        return self.whole.course / where / canonical / relpath

    def plain_scores(self) -> dict:
        """{student: score} from plain `nbgrader autograde`, for this file's students it graded"""
        scores = self.whole.plain_scores()
        return {student: scores[key] for (student, _), key in self._mine().items() if key in scores}

    @property
    def progress(self) -> str:
        return self.whole.graded["stdout"]

    @property
    def written(self) -> list:
        """files grading wrote outside autograded/<student>/<lesson>/ and feedback/ (it should write none)"""
        return self.whole.graded["written"]
