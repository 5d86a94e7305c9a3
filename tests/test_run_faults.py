"""A grading run loses nothing and stops cleanly, each fault through the real `make grade` on a small
course of lesson 01: a second run at once, Ctrl-C, the terminal closed, `make` killed, the grader
killed with SIGKILL, a worker killed, processes a submission detaches and a fork bomb, a disk
filler, the gradebook removed mid-run, a student who handed nothing in, a misnamed lesson folder, a
folder of too many files, a read-only course. Each asserts the rows of grades.csv and that no
process of the run is left."""

import csv
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from checker.grading.run import max_points, scratch_course
from course import ENV, ROOT, SOLUTIONS, read, run, solutions_by_id, with_answers

LESSON = "01_chain_rule_building_blocks"
NOTEBOOK = f"{LESSON}/chain_rule_building_blocks.ipynb"
SLEEP = "import time\ntime.sleep({})"
STOPPED = "the grading run stopped before it was graded"


def answered(extra: str | None = None, last: bool = False):
    """Lesson 01 answered in full; `extra`, a cell of the learner's, comes first (or `last`)."""
    nb = with_answers(read(ROOT / "lessons" / NOTEBOOK), solutions_by_id(SOLUTIONS / NOTEBOOK))
    if extra:
        nb.cells.insert(len(nb.cells) if last else 1, nbformat.v4.new_code_cell(extra))
    return nb


@pytest.fixture
def marker():
    """A variable in the run's environment: every process of the run, kernels and what they start
    included, carries it (kernels inherit the grader's environment)."""
    return f"fault-{uuid.uuid4().hex}"


def survivors(marker: str) -> list[str]:
    """The processes still alive that belong to the run marked `marker`."""
    found, needle = [], f"BN_FAULT_RUN={marker}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes():
                    found.append(f"{entry.name} {(entry / 'cmdline').read_bytes()[:80]!r}")
            except OSError:
                continue
    return found


def no_survivors(marker: str, within: float = 15.0) -> list[str]:
    deadline = time.monotonic() + within
    while (left := survivors(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def start_grading(course: Path, marker: str, *args: str) -> subprocess.Popen:
    """`make grade` in a session of its own (as a terminal runs it: Ctrl-C reaches its process group)."""
    return subprocess.Popen(["make", "-s", "grade", f"COURSE={course}", f"GRADE_ARGS=--jobs 1 {' '.join(args)}"],
                            cwd=ROOT, env={**ENV, "BN_FAULT_RUN": marker}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def grade(course: Path, marker: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "grade", f"COURSE={course}", f"GRADE_ARGS=--jobs 1 {' '.join(args)}"],
                          cwd=ROOT, env={**ENV, "BN_FAULT_RUN": marker}, capture_output=True, text=True, timeout=600)


def rows(course: Path) -> dict:
    with open(course / "grades.csv") as f:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}


def wait_for(predicate, seconds: float = 180.0, what: str = ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"waited {seconds:.0f} s for {what}")


def graded(course: Path, student: str) -> bool:
    try:
        return rows(course)[(student, LESSON)]["status"] == "graded"
    except (OSError, KeyError):
        return False


def grader_pid(make: subprocess.Popen) -> int:
    """`python -m checker.grading`, the child of `make` (through make's shell, if any)."""
    def find():
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                    if b"checker.grading" in cmdline and b"-m" in cmdline and \
                            os.getsid(int(entry.name)) == make.pid:
                        return int(entry.name)
                except OSError:
                    continue
    return wait_for(find, 60, "the grading process")


def full() -> float:
    return max_points(ROOT, LESSON)


def test_a_second_run_waits_its_turn_and_says_whose_it_is(tmp_path, marker):
    course = scratch_course(tmp_path, {("alice", NOTEBOOK): answered(SLEEP.format(8)), ("bob", NOTEBOOK): answered()})
    first = start_grading(course, marker)
    wait_for(lambda: (course / ".grading.lock").is_file() and (course / ".grading.lock").read_text(), 60, "the lock")
    second = grade(course, marker)
    assert second.returncode != 0
    assert "Another grading run is grading this course: make grade (pid" in second.stdout, second.stdout
    plain = subprocess.run(["nbgrader", "autograde", LESSON, "--force"], cwd=course, env=ENV, capture_output=True, text=True)
    assert "Another grading run is grading this course" in plain.stdout + plain.stderr
    output, _ = first.communicate(timeout=600)
    assert first.returncode == 0, output
    assert {k: (float(r["score"]), r["status"]) for k, r in rows(course).items()} == \
        {("alice", LESSON): (full(), "graded"), ("bob", LESSON): (full(), "graded")}
    assert no_survivors(marker) == []


@pytest.mark.parametrize("how", ["ctrl-c", "terminal closed", "make killed", "grader killed"])
def test_a_stopped_run_keeps_what_was_graded_and_leaves_no_process(tmp_path, marker, how):
    course = scratch_course(tmp_path, {("alice", NOTEBOOK): answered(), ("bob", NOTEBOOK): answered(SLEEP.format(300)),
                                       ("carol", NOTEBOOK): answered()})
    make = start_grading(course, marker)
    wait_for(lambda: graded(course, "alice"), 300, "alice's row")
    time.sleep(2)  # bob's kernel is asleep
    if how == "ctrl-c":
        os.killpg(make.pid, signal.SIGINT)  # what the terminal does
    elif how == "terminal closed":
        os.killpg(make.pid, signal.SIGHUP)
    elif how == "make killed":
        make.kill()
    else:
        os.kill(grader_pid(make), signal.SIGKILL)
    make.wait(timeout=30)
    assert no_survivors(marker) == []
    found = rows(course)
    assert (found[("alice", LESSON)]["status"], float(found[("alice", LESSON)]["score"])) == ("graded", full())
    for student in ("bob", "carol"):
        assert (found[(student, LESSON)]["status"], found[(student, LESSON)]["reason"]) == ("not graded", STOPPED)
    if how != "grader killed":
        output = make.stdout.read()
        assert "Stopped (" in output and "1 of 3 submissions were graded" in output, output


def test_a_killed_worker_costs_its_submission_alone(tmp_path, marker):
    course = scratch_course(tmp_path, {("alice", NOTEBOOK): answered(), ("bob", NOTEBOOK): answered(SLEEP.format(300)),
                                       ("carol", NOTEBOOK): answered()})
    make = start_grading(course, marker)
    wait_for(lambda: graded(course, "alice"), 300, "alice's row")
    time.sleep(2)
    grader = grader_pid(make)
    workers = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(int(p.name)) == grader
               and b"spawn_main" in (p / "cmdline").read_bytes()]
    assert len(workers) == 1, workers
    os.kill(workers[0], signal.SIGKILL)
    output, _ = make.communicate(timeout=600)
    assert make.returncode == 0, output
    found = rows(course)
    assert found[("bob", LESSON)]["status"] == "not graded"
    assert found[("bob", LESSON)]["reason"] == "the process grading it died (killed by signal 9)"
    assert [(found[(s, LESSON)]["status"], float(found[(s, LESSON)]["score"])) for s in ("alice", "carol")] == \
        [("graded", full())] * 2
    assert no_survivors(marker) == []


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError):
        return 0


# A learner's cell (the guard off, to test what stands behind it): a grandchild in a session of its
# own, then forks until Linux refuses; every child sleeps for ten minutes.
ESCAPES = """import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
children = 0
for _ in range(5000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    children += 1
print("children:", children)"""


def test_what_a_kernel_starts_ends_with_it_and_a_fork_bomb_is_capped(tmp_path, marker):
    course = scratch_course(tmp_path, {("alice", NOTEBOOK): answered(ESCAPES, last=True), ("bob", NOTEBOOK): answered()})
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("\nc.CourseExecute.guard = False  # (the guard refuses os.fork: what stands behind it is tested here)\n")
    done = grade(course, marker)
    assert done.returncode == 0, done.stdout + done.stderr
    assert no_survivors(marker, within=5) == []
    printed = [o.get("text", "") for c in read(course / "autograded" / "alice" / NOTEBOOK).cells for o in c.get("outputs", [])]
    children = int(next(t for t in printed if t.startswith("children:")).split()[1])
    assert 50 < children < 256  # the kernel's cgroup allows 256 processes and threads, its own included
    assert {k: (r["status"], float(r["score"])) for k, r in rows(course).items()} == \
        {("alice", LESSON): ("graded", full()), ("bob", LESSON): ("graded", full())}


def test_a_read_only_course_is_one_sentence_and_nothing_graded(tmp_path, marker):
    """The course on a read-only mount (as root, permission bits would not stop a write)."""
    course = scratch_course(tmp_path, {("alice", NOTEBOOK): answered()})
    command = f"mount --bind {course} {course} && mount -o remount,ro,bind {course} && " \
              f"make -s -C {ROOT} grade COURSE={course}"
    done = subprocess.run(["unshare", "--mount", "sh", "-c", command], env={**ENV, "BN_FAULT_RUN": marker},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert f"Cannot write in {course} (Read-only file system): grading writes gradebook.db" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert not (course / "grades.csv").exists() and not (course / "autograded").exists()
    assert no_survivors(marker) == []


def test_the_gradebook_removed_mid_run_is_an_error(tmp_path, marker):
    course = scratch_course(tmp_path, {("alice", NOTEBOOK): answered(), ("bob", NOTEBOOK): answered(SLEEP.format(10))})
    make = start_grading(course, marker)
    wait_for(lambda: graded(course, "alice"), 300, "alice's row")
    (course / "gradebook.db").unlink()
    output, _ = make.communicate(timeout=600)
    assert make.returncode != 0
    assert "gradebook.db was removed or replaced while grading" in output, output
    assert {r["status"] for r in rows(course).values()} == {"not graded"}
    assert no_survivors(marker) == []


DISK_FILLER = """for number in range(5):
    with open(f'big{number}.bin', 'wb') as f:
        f.write(b'0' * (60 << 20))"""


def test_every_student_and_lesson_gets_a_row_and_strays_are_named(tmp_path, marker):
    """alice answered (and tried to write 300 MB in 60 MB files), bob put his lesson in a misnamed folder, carol handed in
    nothing, dave's folder holds 2,000 files: one row each, and a warning names bob's folder. Then
    alice alone is graded again, and the other rows stay."""
    course = scratch_course(tmp_path, {("alice", NOTEBOOK): answered(DISK_FILLER),
                                       ("dave", NOTEBOOK): answered()})
    (course / "submitted" / "bob" / "01_chain_rule").mkdir(parents=True)
    nbformat.write(answered(), course / "submitted" / "bob" / "01_chain_rule" / "chain_rule_building_blocks.ipynb")
    (course / "submitted" / "carol").mkdir()
    for number in range(2000):
        (course / "submitted" / "dave" / LESSON / f"f{number}.txt").write_text("x")
    run("nbgrader", "db", "assignment", "add", LESSON, "--duedate=2026-01-01 00:00:00 UTC", cwd=course)  # as an instructor would
    done = grade(course, marker)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning: submitted/bob/01_chain_rule is not a lesson of this course" in done.stdout
    found = {k: (r["status"], float(r["score"])) for k, r in rows(course).items()}
    assert found == {("alice", LESSON): ("graded", full()), ("bob", LESSON): ("missing", 0.0),
                     ("carol", LESSON): ("missing", 0.0), ("dave", LESSON): ("not graded", 0.0)}
    assert "holds more than 1000 files" in rows(course)[("dave", LESSON)]["reason"]
    assert rows(course)[("alice", LESSON)]["late"].split()[1] == "d"  # days after 1 January 2026
    # the kernel's writes stopped at its 256 MB, in memory: nothing on the disk, and feedback/ holds the page
    assert "wrote more than the 256 MB a graded notebook may write in all" in rows(course)[("alice", LESSON)]["reason"]
    assert not list((course / "autograded" / "alice" / LESSON).glob("big*.bin"))
    assert {p.name for p in (course / "feedback" / "alice" / LESSON).iterdir()} <= \
        {"chain_rule_building_blocks.html", "timestamp.txt", "submission_secret.txt"}
    before = rows(course)
    again = grade(course, marker, "--student", "alice")
    assert again.returncode == 0 and "Grading 1 submissions" in again.stdout, again.stdout
    assert rows(course) == before
    assert no_survivors(marker) == []
