"""The grading seed is secret, one per course and student (checker/grading/seeds.py): nobody can
compute the grader's numbers ahead of time, and two students' numbers differ."""

import os
import stat
import subprocess

from checker.environment import DEFAULT_SEED
from checker.grading.seeds import SECRET_FILE, seed_for
from course import ROOT


def test_each_student_has_a_seed_of_their_own_that_stays_the_same(tmp_path):
    seeds = {student: seed_for(tmp_path, student) for student in ("alice", "bob", "carol", "")}
    assert len(set(seeds.values())) == len(seeds)
    assert seed_for(tmp_path, "alice") == seeds["alice"]
    assert DEFAULT_SEED not in seeds.values() and all(0 <= s < 2**31 for s in seeds.values())


def test_each_lesson_has_a_seed_of_its_own(tmp_path):
    """A seed a graded notebook shows (it can print its own data) is no use in another lesson."""
    lessons = ("04_makemore_atomic_backprop", "05_makemore_fused_cross_entropy", "06_makemore_fused_batchnorm")
    assert len({seed_for(tmp_path, "alice", lesson) for lesson in lessons} | {seed_for(tmp_path, "alice")}) == 4


def test_another_course_gives_the_same_student_another_seed(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    assert seed_for(tmp_path / "a", "alice") != seed_for(tmp_path / "b", "alice")


def test_the_secret_is_its_owners_alone_and_never_in_git(tmp_path):
    seed_for(tmp_path, "alice")
    mode = stat.S_IMODE(os.stat(tmp_path / SECRET_FILE).st_mode)
    assert mode == 0o600
    ignored = subprocess.run(["git", "check-ignore", "-q", SECRET_FILE], cwd=ROOT)
    assert ignored.returncode == 0


def test_a_damaged_secret_is_refused_with_a_sentence(tmp_path):
    (tmp_path / SECRET_FILE).write_text("short")
    try:
        seed_for(tmp_path, "alice")
    except RuntimeError as error:
        assert "delete it" in str(error)
    else:
        raise AssertionError("a damaged secret was used")
