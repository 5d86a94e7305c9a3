"""`make grade` (`python -m checker.grading`): autograde every submission, one at a time per worker.

    submitted/<student>/<lesson>/<notebook>.ipynb  ->  autograded/, feedback/, grades.csv

A run loses nothing: one run per course at a time (run_lock.py); Ctrl-C, SIGTERM or the end of
`make` stop it within seconds, keeping what was graded; a worker that dies or hangs costs one
submission (workers.py); every process a kernel starts is killed with it (cgroups.py); grades.csv
is written as rows come in, with a row for every student of the class and every lesson graded.

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
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import nbgrader_speedups  # first: it keeps nbformat's import fast

import nbformat  # noqa: E402
from . import cgroups, sandbox, seeds
from .run_lock import RUN_ENV_VAR, Busy, RunLock
from .workers import Lost, Pool
from .notebooks import nbgrader_meta, tool_environment
from .feedback import write_not_graded_page
from .grades_csv import COLUMNS, GRADED, GRADES_FILE
from .lesson_cells import RESTORED, NotThisLesson
from .overrules import record_overrule
from .preprocessors import CHECKER_PACKAGE, DECISIONS, FLAG, OUT_OF_TIME

MAX_FILES = 1000  # files in one submission folder: nbgrader copies and scans each of them
BOOKKEEPING_SECONDS = 300  # a submission's time beyond its notebooks' budgets: nbgrader's own work


@dataclass
class Outcome:
    student: str
    assignment: str
    status: str  # "graded", "flagged" (graded, some checks 0 by the rules), "for review" (graded, the
    # score stands, something unusual for the instructor to read), "invalid notebook", "not graded",
    # "missing" (nothing handed in)
    reason: str = ""
    score: float = 0.0
    max_score: float | None = None  # None: the lesson's points
    late: str = ""  # how late, from nbgrader's timestamp and the lesson's due date


def submissions(root: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """([(student, lesson)] handed in, [folders under submitted/<student>/ that are not lessons])."""
    lessons = {p.name for p in (root / "solutions").iterdir() if p.is_dir()}
    found, strays = [], []
    for student in sorted(p for p in (root / "submitted").glob("*") if p.is_dir()):
        for lesson in sorted(p for p in student.iterdir() if p.is_dir()):
            if lesson.name in lessons:
                found.append((student.name, lesson.name))
            elif not lesson.name.startswith("."):
                strays.append(f"submitted/{student.name}/{lesson.name}")
    return found, strays


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
    if _count_files(folder, MAX_FILES) > MAX_FILES:
        return Outcome(student, assignment, "not graded",
                       f"its folder holds more than {MAX_FILES} files: hand in the notebook (and only the files it needs)")
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
    _keep_only_what_grading_needs(root, student, assignment)
    score, max_score, late = _gradebook_row(root, student, assignment)
    _freeze_long_lived_objects()
    return Outcome(student, assignment, status, "; ".join(notes), score, max_score, late)


def _count_files(folder: Path, stop_after: int) -> int:
    """Files under `folder`, counted up to one past `stop_after` (a million files are not walked)."""
    count = 0
    for _, _, files in os.walk(folder):
        count += len(files)
        if count > stop_after:
            break
    return count


def _keep_only_what_grading_needs(root: Path, student: str, assignment: str) -> None:
    """The graded notebooks stay in autograded/ and the pages in feedback/; what the kernel wrote (its
    scratch files, however large) and nbgrader's copies of the submission's other files go."""
    handed_in = {p.relative_to(root / "submitted" / student / assignment)
                 for p in (root / "submitted" / student / assignment).rglob("*") if p.is_file()}
    for where, keep in (("autograded", lambda p: p.suffix == ".ipynb" or p in handed_in),
                        ("feedback", lambda p: p.suffix == ".html" or p.name in ("timestamp.txt", "submission_secret.txt"))):
        folder = root / where / student / assignment
        for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            relative = path.relative_to(folder)
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            elif not keep(relative):
                path.unlink()


_gradebooks = {}  # a worker's connection to each course's gradebook, opened once (20 ms each time)


def _gradebook_row(root: Path, student: str, assignment: str) -> tuple[float, float | None, str]:
    """(score, max_score, how late) of a submission, from the gradebook, as nbgrader just wrote it."""
    from nbgrader.api import Gradebook, MissingEntry

    if root not in _gradebooks:
        _gradebooks[root] = Gradebook(f"sqlite:///{root / 'gradebook.db'}")
    gradebook = _gradebooks[root]
    gradebook.db.expire_all()  # nothing from an earlier read: nbgrader's own connection wrote since
    try:
        submission = gradebook.find_submission(assignment, student)
        return submission.score, submission.max_score, _late(submission.total_seconds_late)
    except MissingEntry:
        return 0.0, None, ""
    finally:
        gradebook.db.rollback()  # end the read: the next one sees what was written after it


def _late(seconds: float) -> str:
    if not seconds:
        return ""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n) or "< 1 min"


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
        if decided.get("disk_mb") and any(DISK_FULL in o.get("evalue", "") for o in errors):
            stopped.append(f"{path.name} wrote more than the {decided['disk_mb']} MB a graded notebook may write "
                           f"in all, so a cell failed with '{DISK_FULL}'")
    status = "flagged" if flagged else "for review" if review and not overruled else "graded"
    return status, sorted(flagged) + sorted(overruled) + review + stopped + restored


def _ungradable(log: str) -> str | None:
    """The one sentence saying why a notebook cannot be graded (lesson_cells.NotThisLesson), if it said so."""
    marker = f"{NotThisLesson.__name__}: "
    found = [line.split(marker, 1)[1].strip() for line in log.splitlines() if marker in line]
    return found[-1] if found else None


DISK_FULL = "No space left on device"  # what a kernel's writes past its budget raise (sandbox.py)

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
_worker_root = None
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


def grade_task(student: str, assignment: str) -> Outcome:
    """A worker's task (workers.py): one submission of the course the worker was started for."""
    return grade_one(_worker_root, student, assignment)


def _start_worker(root: Path, env: dict, settings: dict, group_json: str) -> None:
    """Load nbgrader and the course's configuration once per worker process, in the run's cgroup."""
    global _worker_api, _worker_root
    _worker_root = root
    workers = cgroups.Group.from_json(group_json)
    if workers:
        workers.join(0)
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


class GradesFile:
    """grades.csv, rewritten whole (atomically) each time a row comes in, so a crash keeps every row
    graded until then. With `keep_others`, rows of submissions this run does not grade stay."""

    def __init__(self, root: Path, max_scores: dict, keep_others: bool):
        self.path, self.max_scores, self.rows = root / GRADES_FILE, max_scores, {}
        if keep_others and self.path.is_file():
            with open(self.path, newline="") as f:
                self.rows = {(r["student_id"], r["assignment"]): {c: r.get(c, "") for c in COLUMNS}
                             for r in csv.DictReader(f)}

    def add(self, o: Outcome) -> None:
        top = o.max_score if o.max_score is not None else self.max_scores.get(o.assignment, 0.0)
        score = o.score if o.status in GRADED else 0.0
        self.rows[(o.student, o.assignment)] = dict(student_id=o.student, assignment=o.assignment, score=f"{score:g}",
                                                    max_score=f"{top:g}", status=o.status, reason=o.reason, late=o.late)

    def write(self) -> Path:
        scratch = self.path.with_name(f".{GRADES_FILE}.{os.getpid()}")
        with open(scratch, "w", newline="") as f:
            writer = csv.DictWriter(f, COLUMNS)
            writer.writeheader()
            writer.writerows(row for _, row in sorted(self.rows.items()))
        os.replace(scratch, self.path)
        return self.path


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


class Stopped(Exception):
    """Ctrl-C, SIGTERM, SIGHUP, or `make` gone: stop the run, keep what was graded."""


def _stop(signum, frame):
    raise Stopped(signal.Signals(signum).name)


def _writable(root: Path) -> str:
    """'' if grading can write in the course folder, else a sentence saying where it cannot."""
    for folder in (root, root / "autograded", root / "feedback"):
        if folder.is_dir():
            try:
                with open(folder / f".write-test-{os.getpid()}", "w"):
                    pass
                os.unlink(folder / f".write-test-{os.getpid()}")
            except OSError as error:
                return (f"Cannot write in {folder} ({error.strerror}): grading writes gradebook.db, grades.csv, "
                        "autograded/ and feedback/ in the course folder. Make it writable, then grade again.")
    return ""


class HeldGradebook:
    """Holds gradebook.db open for the run, to see it removed or replaced (a new file may even get
    the old one's inode number): the open file then has no name left."""

    def __init__(self, root: Path):
        self.fd = os.open(root / "gradebook.db", os.O_RDONLY | os.O_CLOEXEC)

    def gone(self) -> bool:
        return os.fstat(self.fd).st_nlink == 0

    def close(self) -> None:
        os.close(self.fd)


def parse(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    parser.add_argument("--student", action="append", default=[], help="grade only this student (repeatable)")
    parser.add_argument("--lesson", action="append", default=[], help="grade only this lesson (repeatable)")
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
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    root = Path.cwd()
    if not (root / "solutions").is_dir() or not (root / "nbgrader_config.py").is_file():
        print(f"{root} is not a course folder: it needs nbgrader_config.py and solutions/.")
        return 2
    if problem := _writable(root):
        print(problem)
        return 2
    lessons = sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
    todo, strays = submissions(root)
    for stray in strays:
        print(f"Warning: {stray} is not a lesson of this course, so it is not graded "
              f"(the lessons are {', '.join(lessons)}): move it to the lesson's folder and grade again.")
    for option, names, known in (("--student", args.student, {s for s, _ in todo}), ("--lesson", args.lesson, lessons)):
        if unknown := [n for n in names if n not in known]:
            print(f"No {option[2:]} {', '.join(unknown)} in this course's submissions.")
            return 2
    todo = [(s, a) for s, a in todo if (not args.student or s in args.student) and (not args.lesson or a in args.lesson)]
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
    elif weaker := "; ".join(filter(None, (sandbox.weaker(), cgroups.missing()))):
        print(f"The grading kernels' sandbox is weaker on this machine: {weaker}.")
    try:
        lock = RunLock(root, "make grade").acquire()
    except Busy as busy:
        print(busy)
        return 3
    try:
        return _grade(root, args, todo, env, settings, started)
    finally:
        lock.release()


def _grade(root: Path, args, todo: list, env: dict, settings: dict, started: float) -> int:
    os.environ["PATH"] = env["PATH"]  # nbgrader runs alembic when it creates the gradebook
    assignments = sorted({a for _, a in todo})
    narrowed = bool(args.overrule or args.student or args.lesson)
    register_gradebook(root, assignments, sorted({s for s, _ in todo}))
    gradebook = HeldGradebook(root)
    # the class: every student in the gradebook or with a folder in submitted/, times the lessons graded
    missing = []
    if not args.overrule:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as book:
            known = {s.id for s in book.students}
        known |= {p.name for p in (root / "submitted").glob("*") if p.is_dir()}
        students = [s for s in sorted(known) if not args.student or s in args.student]
        missing = [(s, a) for s in students for a in assignments if (s, a) not in set(todo)]
    configured = course_config(root).CourseExecute  # nbgrader_config.py, read once for the run
    fixed = settings.get("seed", configured.get("seed"))
    seed = f"seed {fixed} for everyone" if fixed is not None else f"each student's secret seed, from {seeds.SECRET_FILE}"
    print(f"Grading {len(todo)} submissions, {args.jobs} at a time ({seed}).", flush=True)
    grades = GradesFile(root, {a: max_points(root, a) for a in assignments}, keep_others=narrowed)
    for student, assignment in missing:
        grades.add(Outcome(student, assignment, "missing", "nothing was handed in for this lesson"))
    for student, assignment in todo:  # until graded; a crash or a stop leaves this row
        grades.add(Outcome(student, assignment, "not graded", "the grading run stopped before it was graded"))
    grades.write()

    for stale in cgroups.stale_runs():  # left by a run killed with SIGKILL whose watchdog was killed too
        stale.remove()
    run_group = cgroups.Group.make(cgroups.run_group_name(os.getpid()))
    workers_group = cgroups.Group.make("workers", run_group) if run_group else cgroups.Group({})
    watchdog = subprocess.Popen([sys.executable, str(Path(cgroups.__file__)), "watch", str(os.getpid()), run_group.to_json()],
                                start_new_session=True, stdin=subprocess.DEVNULL) if run_group else None
    env = {**env, RUN_ENV_VAR: str(os.getpid()), cgroups.RUN_ENV_VAR: run_group.to_json() if run_group else ""}
    budget_per_notebook = configured.get("notebook_budget", 600)

    def budget(task):
        count = len(list((root / "submitted" / task[0] / task[1]).glob("*.ipynb"))) or 1
        return count * budget_per_notebook + BOOKKEEPING_SECONDS

    def lost_worker(pid):  # the kernels of a worker that was killed
        for group in cgroups.children(run_group, f"k{pid}-") if run_group else []:
            group.remove()

    pool = Pool(args.jobs, _start_worker, (root, env, settings, workers_group.to_json()), grade_task, lost_worker)
    handlers = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    _die_with_parent(signal.SIGTERM)  # `make` killed: stop as if told to
    done, code = 0, 0
    try:
        for (student, assignment), result in pool.run(todo, budget):
            done += 1
            outcome = result if isinstance(result, Outcome) else \
                Outcome(student, assignment, "not graded", result.reason if isinstance(result, Lost) else str(result))
            if gradebook.gone():
                raise GradebookLost()
            grades.add(outcome)
            grades.write()
            note = f": {outcome.reason}" if outcome.reason else ""
            print(f"[{done}/{len(todo)}] {student} {assignment}: {outcome.status}{note}", flush=True)
        pool.close()
    except Stopped as stop:
        pool.stop()
        print(f"Stopped ({stop}): {done} of {len(todo)} submissions were graded; "
              f"{len(todo) - done} were not (status `not graded` in grades.csv). Grade again to finish.", flush=True)
        code = 130
    except GradebookLost:
        pool.stop()
        for student, assignment in todo:
            grades.add(Outcome(student, assignment, "not graded",
                               "gradebook.db was removed or replaced while grading, so its scores were lost"))
        print("gradebook.db was removed or replaced while grading: nbgrader's scores (and any manual grades) "
              "of this run are not in it. Restore it from a backup if you have one, then grade again.", flush=True)
        code = 1
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
        if pool.workers:
            pool.stop()
        if run_group:
            run_group.remove()
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait()
        path = grades.write()
        gradebook.close()
    if code == 0:
        elapsed = time.perf_counter() - started  # the whole run: set-up, grading, grades.csv
        print(f"Graded {len(todo)} submissions in {elapsed:.1f} s ({elapsed / len(todo):.1f} s each); "
              f"grades in {path.name}, feedback in feedback/." + (f" {len(missing)} missing." if missing else ""))
        _write_class_report(root)
    return code


def _write_class_report(root: Path) -> None:
    """The class report and the Canvas grades (class_report.py), after the grades: a fault in them
    costs the report, never a grade."""
    from .class_report import CANVAS_FILE, write_report

    try:
        page = write_report(root)
    except Exception as error:  # noqa: BLE001 (the grades are written; say what is missing)
        print(f"The class report could not be written ({type(error).__name__}: {error}); the grades are in "
              f"{GRADES_FILE}. Run make report to try again.")
        return
    print(f"Class report in {page.relative_to(root)}; grades for Canvas in {CANVAS_FILE}.")


class GradebookLost(Exception):
    pass


def _die_with_parent(signum: int) -> None:
    import ctypes

    ctypes.CDLL(None).prctl(1, signum, 0, 0, 0)  # PR_SET_PDEATHSIG
