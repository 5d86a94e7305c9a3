"""`make grade` (`python -m checker.grading`): autograde every submission, one at a time per worker.

    submitted/<student>/<lesson>/<notebook>.ipynb  ->  autograded/, feedback/, grades.csv

Each submission is autograded on its own (worker processes each run nbgrader's API, one
submission at a time, each notebook in its own kernel), so a dead kernel (os._exit, a segfault)
costs only that submission. Kernels are forked from a warm zygote (see warm_kernels.py) that has
already imported torch: a fresh process per notebook, without the seconds of start-up. Every submission gets a row in grades.csv with a status and
a reason, including notebooks that are not valid JSON or could not be run. Grading uses its own
seed, so numbers copied from the learner's run fail, and checks after a learner cell that breaks
the lesson's rules score 0: both are steps of nbgrader's own pipeline (preprocessors.py,
nbgrader_config.py), so plain `nbgrader autograde` grades the same way.
"""

import csv
import gc
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import nbgrader_speedups  # first: it keeps nbformat's import fast

import nbformat  # noqa: E402
from . import sandbox, seeds
from .notebooks import nbgrader_meta, tool_environment
from .feedback import write_not_graded_page
from .lesson_cells import RESTORED, NotThisLesson
from .overrules import record_overrule
from .preprocessors import CHECKER_PACKAGE, DECISIONS, FLAG, OUT_OF_TIME

GRADES_FILE = "grades.csv"
COLUMNS = ["student_id", "assignment", "score", "max_score", "status", "reason"]


@dataclass
class Outcome:
    student: str
    assignment: str
    status: str  # "graded", "flagged" (graded, some checks 0 by the rules), "for review" (graded, the
    # score stands, something unusual for the instructor to read), "invalid notebook", "not graded"
    reason: str = ""


def submissions(root: Path) -> list[tuple[str, str]]:
    lessons = {p.name for p in (root / "solutions").iterdir() if p.is_dir()}
    found = []
    for student in sorted(p for p in (root / "submitted").glob("*") if p.is_dir()):
        for lesson in sorted(p for p in student.iterdir() if p.is_dir()):
            if lesson.name in lessons:
                found.append((student.name, lesson.name))
    return found


def grading_environment() -> dict:
    # The kernels' own environment is CourseExecute's (seed, fast mode); this is the workers'.
    return {**tool_environment(), "OMP_NUM_THREADS": "1"}


def register_gradebook(root: Path, assignments: list[str], students: list[str] = ()) -> None:
    """Put each assignment, its notebooks and checksums in the gradebook, from solutions/
    (generate_assignment does that; its lesson output goes to a scratch folder here), and each
    student: two workers grading one student's first two lessons would otherwise both create the
    student, and the second would fail on the gradebook's unique key (`not graded`)."""
    import tempfile

    from nbgrader.apps import NbGraderAPI

    nbgrader_speedups.install()
    with tempfile.TemporaryDirectory() as scratch:
        config = course_config(root)
        config.CourseDirectory.release_directory = scratch
        api = NbGraderAPI(config=config)
        for assignment in assignments:
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result.get("success"):
                raise SystemExit(f"nbgrader could not read solutions/{assignment}:\n"
                                 f"{result.get('log', '')}{result.get('error', '')}")
        with api.gradebook as gradebook:
            for student in students:
                gradebook.update_or_create_student(student)


def course_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def read_submission(folder: Path):
    """The submission's notebooks, or a sentence saying which one is not a notebook."""
    notebooks = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            notebook = nbformat.read(path, as_version=4)
            nbformat.validate(notebook)
        except Exception as error:  # invalid JSON or not a notebook: this submission is reported, not graded
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return None, f"{path.name} is not a valid notebook ({first_line}); it was not graded"
        notebooks.append(notebook)
    if not notebooks:
        return None, "no .ipynb file was submitted"
    return notebooks, ""


def grade_one(root: Path, student: str, assignment: str) -> Outcome:
    """Autograde one submission (in a worker process: see _start_worker)."""
    folder = root / "submitted" / student / assignment
    notebooks, problem = read_submission(folder)
    if notebooks is None:
        return _not_graded(root, Outcome(student, assignment, "invalid notebook", problem))
    _timestamp(folder)
    result = _worker_api.autograde(assignment, student, force=True, create=True)
    log = (result.get("log") or "") + (result.get("error") or "")
    if "DeadKernelError" in log or "Kernel died" in log:
        return _not_graded(root, Outcome(student, assignment, "not graded",
                           "the kernel died while running the notebook (os._exit, a crash or running out of memory)"))
    if not result.get("success"):
        reason = _ungradable(log) or "nbgrader could not grade it: " + _last_error(log)
        return _not_graded(root, Outcome(student, assignment, "not graded", reason))
    status, notes = _what_grading_decided(root / "autograded" / student / assignment)
    feedback = _worker_api.generate_feedback(assignment, student, force=True)
    if not feedback.get("success"):
        notes.append("its feedback page could not be written: " +
                     _last_error((feedback.get("log") or "") + (feedback.get("error") or "")))
    _freeze_long_lived_objects()
    return Outcome(student, assignment, status, "; ".join(notes))


def _timestamp(folder: Path) -> None:
    """A submission placed by hand has no timestamp.txt, which `nbgrader collect` writes and
    `nbgrader release_feedback` needs: give it the time its newest file was written."""
    stamp = folder / "timestamp.txt"
    if not stamp.exists():
        newest = max(p.stat().st_mtime for p in folder.iterdir() if p.is_file())
        stamp.write_text(datetime.fromtimestamp(newest, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


def _what_grading_decided(folder: Path) -> tuple[str, list[str]]:
    """(status, the notes for grades.csv), read from the autograded notebooks: what
    preprocessors.ApplyRules decided (flagged, overruled, for review), whether a notebook used up
    its time budget, and what lesson_cells.py put back."""
    flagged, overruled, review, stopped, restored = set(), set(), [], [], []
    for path in sorted(folder.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        decided = notebook.metadata.get(DECISIONS, {})
        flagged |= {decided["flagged"]} if decided.get("flagged") else set()
        overruled |= {decided["overruled"]} if decided.get("overruled") else set()
        review += [f"for review: {reason}" for reason in decided.get("for_review", [])]
        if decided.get(RESTORED):  # lesson_cells.py put the lesson's cells back
            restored.append(f"{path.name} was graded from the lesson's own cells: {'; '.join(decided[RESTORED])}")
        errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        if any(o.get("ename") == OUT_OF_TIME for o in errors):
            stopped.append(f"{path.name} used up its time budget: the cells after that were not run, "
                           "and it was graded on what ran")
    status = "flagged" if flagged else "for review" if review and not overruled else "graded"
    return status, sorted(flagged) + sorted(overruled) + review + stopped + restored


def _ungradable(log: str) -> str | None:
    """The one sentence saying why a notebook cannot be graded (lesson_cells.NotThisLesson), if it said so."""
    marker = f"{NotThisLesson.__name__}: "
    found = [line.split(marker, 1)[1].strip() for line in log.splitlines() if marker in line]
    return found[-1] if found else None


# nbgrader's own lines around a traceback, which say nothing of what went wrong
NBGRADER_NOISE = ("see the the above traceback", "There was an error processing", "Traceback (most recent call last)",
                  "NbGraderException")


def _last_error(log: str) -> str:
    """The last error nbgrader's log names: a traceback's last line, not "see the above traceback"."""
    errors = [line.strip().removeprefix("[ERROR] ") for line in log.splitlines()
              if ("Error" in line or "ERROR" in line or "Exception" in line) and not any(n in line for n in NBGRADER_NOISE)]
    return errors[-1] if errors else "see nbgrader's log"


def _not_graded(root: Path, outcome: Outcome) -> Outcome:
    """A submission that could not be graded still gets a feedback page, saying why in one sentence."""
    folder = root / "submitted" / outcome.student / outcome.assignment
    for path in sorted(folder.glob("*.ipynb")):
        write_not_graded_page(root / "feedback" / outcome.student / outcome.assignment / f"{path.stem}.html",
                              folder, outcome.assignment, path.name, outcome.reason)
    return outcome


_worker_api = None
_frozen = False


def _freeze_long_lived_objects() -> None:
    """After the first submission, nbgrader's, nbconvert's and jinja's objects (templates, schemas,
    the gradebook's mappers) are all loaded and live as long as the worker: move them out of the
    garbage collector's scans, which otherwise take 0.2 s a submission."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def _start_worker(root: Path, env: dict, settings: dict) -> None:
    """Load nbgrader and the course's configuration once per worker process."""
    global _worker_api
    from nbgrader.apps import NbGraderAPI

    os.environ.update(env)
    os.chdir(root)
    # Kernels inherit this process's stderr and print start-up warnings to it; nbgrader's own
    # messages are captured in each result's log instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    nbgrader_speedups.install()
    config = course_config(root)
    for name, value in settings.items():  # --seed, --cell-timeout, ..., over nbgrader_config.py
        section, _, trait = name.rpartition(".")
        config[section or "CourseExecute"][trait] = value
    _worker_api = NbGraderAPI(config=config)


def scores_from_gradebook(root: Path) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                try:
                    scores[(submission.student.id, assignment.name)] = (submission.score, submission.max_score)
                except MissingEntry:
                    continue
    return scores


def write_grades(root: Path, outcomes: list[Outcome], max_scores: dict, keep_others: bool = False) -> Path:
    """grades.csv, a row per outcome; with `keep_others`, the rows of submissions not graded this
    time stay as they were (`--overrule` grades only the overruled submissions again)."""
    scores = scores_from_gradebook(root)
    path = root / GRADES_FILE
    others = []
    if keep_others and path.is_file():
        graded = {(o.student, o.assignment) for o in outcomes}
        with open(path, newline="") as f:
            others = [row for row in csv.DictReader(f) if (row["student_id"], row["assignment"]) not in graded]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(others)
        for o in sorted(outcomes, key=lambda o: (o.student, o.assignment)):
            score, max_score = scores.get((o.student, o.assignment), (0.0, max_scores.get(o.assignment, 0.0)))
            if o.status not in ("graded", "flagged", "for review"):
                score = 0.0
            writer.writerow(dict(student_id=o.student, assignment=o.assignment, score=f"{score:g}",
                                 max_score=f"{max_score:g}", status=o.status, reason=o.reason))
    return path


def max_points(root: Path, assignment: str) -> float:
    """The points an assignment's solution notebooks offer."""
    return sum(nbgrader_meta(cell).get("points", 0) or 0
               for path in (root / "solutions" / assignment).glob("*.ipynb")
               for cell in nbformat.read(path, as_version=4).cells)


def scratch_course(folder: Path, submissions: dict) -> Path:
    """`folder` made a course to grade apart from this one (for tests and benchmarks): this course's
    nbgrader_config.py, the sources of every lesson submitted to, and `submissions`
    {(student, "<lesson>/<notebook>.ipynb"): a notebook, or raw text for a file that is not one}."""
    course = CHECKER_PACKAGE.parent
    shutil.copy(course / "nbgrader_config.py", folder)
    for lesson in sorted({Path(relpath).parts[0] for _, relpath in submissions}):
        shutil.copytree(course / "solutions" / lesson, folder / "solutions" / lesson)
    for (student, relpath), submission in submissions.items():
        path = folder / "submitted" / student / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(submission, str):
            path.write_text(submission)
        else:
            nbformat.write(submission, path)
    return folder


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    parser.add_argument("--seed", type=int, help="one grading seed for every student (default: each student's secret seed)")
    parser.add_argument("--cell-timeout", type=int, help="seconds a cell may run (default: nbgrader_config.py's)")
    parser.add_argument("--cold-kernels", action="store_true",
                        help="start every kernel from scratch instead of forking it from a warm zygote")
    parser.add_argument("--carried-credit", choices=["full", "half", "none"],
                        help="credit for a step right given the learner's earlier answers (default: nbgrader_config.py's)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run kernels without the sandbox (only where Landlock is missing, on submissions you trust)")
    parser.add_argument("--overrule", action="append", default=[], metavar="STUDENT/LESSON",
                        help="overrule the rules' flag on this submission: recorded in overrules.csv, "
                             "then only the overruled submissions are graded again")
    parser.add_argument("--note", default="", help="the instructor's note for --overrule, kept in grades.csv")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    root = Path.cwd()
    if not (root / "solutions").is_dir() or not (root / "nbgrader_config.py").is_file():
        print(f"{root} is not a course folder: it needs nbgrader_config.py and solutions/.")
        return 2
    todo = submissions(root)
    if not todo:
        print("Nothing to grade: put submissions in submitted/<student>/<lesson>/<notebook>.ipynb.")
        return 1
    if args.overrule:
        overruled = [tuple(item.split("/", 1)) for item in args.overrule]
        unknown = [item for item, key in zip(args.overrule, overruled) if key not in todo]
        if unknown:
            print(f"No submission {', '.join(unknown)}: name one as STUDENT/LESSON, e.g. alice/04_makemore_atomic_backprop.")
            return 2
        for student, lesson in overruled:
            record_overrule(root, student, lesson, args.note)
        todo = overruled
    env = grading_environment()
    settings = {name: value for name, value in (("seed", args.seed), ("timeout", args.cell_timeout)) if value is not None}
    if args.cold_kernels:
        settings["warm_kernels"] = False
    if args.carried_credit:
        settings["CreditCarriedForward.credit"] = args.carried_credit
    if args.no_sandbox:
        settings["sandbox"] = False
    elif missing := sandbox.missing():
        print(f"Cannot sandbox the grading kernels here: {missing}. "
              "Grade on a machine that can, or run `make grade GRADE_ARGS=--no-sandbox` on submissions you trust.")
        return 2
    elif weaker := sandbox.weaker():
        print(f"The grading kernels' sandbox is weaker on this machine: {weaker}.")
    os.environ["PATH"] = env["PATH"]  # nbgrader runs alembic when it creates the gradebook
    assignments = sorted({a for _, a in todo})
    register_gradebook(root, assignments, sorted({s for s, _ in todo}))
    fixed = settings.get("seed", course_config(root).CourseExecute.get("seed"))
    seed = f"seed {fixed} for everyone" if fixed is not None else f"each student's secret seed, from {seeds.SECRET_FILE}"
    print(f"Grading {len(todo)} submissions, {args.jobs} at a time ({seed}).", flush=True)
    outcomes = []
    workers = ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_start_worker, initargs=(root, env, settings))
    with workers as pool:
        futures = [pool.submit(grade_one, root, s, a) for s, a in todo]
        for done, future in enumerate(as_completed(futures), 1):
            outcome = future.result()
            outcomes.append(outcome)
            note = f": {outcome.reason}" if outcome.reason else ""
            print(f"[{done}/{len(todo)}] {outcome.student} {outcome.assignment}: {outcome.status}{note}", flush=True)
    path = write_grades(root, outcomes, {a: max_points(root, a) for a in assignments}, keep_others=bool(args.overrule))
    elapsed = time.perf_counter() - started  # the whole run: set-up, grading, grades.csv
    print(f"Graded {len(todo)} submissions in {elapsed:.1f} s ({elapsed / len(todo):.1f} s each); "
          f"grades in {path.name}, feedback in feedback/.")
    return 0


