"""How long `make grade` takes for a class: a scratch course with N copies of Exercise 1 answered
in full (the lesson's own solutions), graded with the real `make grade`. Prints its figures; the
last two lines are machine-readable.

    python bench/grading.py [N] [--jobs J]      (make bench-grade N=100 JOBS=2)
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checker.grading.run import scratch_course
from checker.grading.notebooks import read, solutions_by_id, tool_environment, with_answers

ROOT = Path(__file__).resolve().parent.parent
LESSON = "04_makemore_atomic_backprop"
NOTEBOOK = f"{LESSON}/makemore_atomic_backprop.ipynb"


def busy_cpu_seconds() -> float:
    """CPU seconds this machine has spent busy (all processes, all cores) since boot, from /proc/stat:
    grading runs in workers, kernels and their children, which no single rusage sees."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("students", nargs="?", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as folder:
        answered = with_answers(read(ROOT / "lessons" / NOTEBOOK), solutions_by_id(ROOT / "solutions" / NOTEBOOK))
        course = scratch_course(Path(folder), {(f"student{number:03d}", NOTEBOOK): answered
                                               for number in range(args.students)})
        started, cpu_before = time.perf_counter(), busy_cpu_seconds()
        done = subprocess.run(["make", "-s", "-C", str(ROOT), "grade", f"COURSE={course}", f"GRADE_ARGS=--jobs {args.jobs}"],
                              env=tool_environment(), capture_output=True, text=True)
        seconds, cpu = time.perf_counter() - started, busy_cpu_seconds() - cpu_before
        grades = course / "grades.csv"
        rows = list(csv.DictReader(grades.open())) if grades.exists() else []
        full_marks = sum(row["status"] == "graded" and row["score"] == row["max_score"] for row in rows)
    if done.returncode != 0 or full_marks != args.students:
        print(f"make grade failed: {full_marks} of {args.students} full answers got full marks.\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return 1
    print(done.stdout.strip().splitlines()[-1])
    print(f"{args.students} submissions of {LESSON}, {args.jobs} jobs, wall clock including make: {seconds:.1f} s")
    print(f"CPU busy (whole machine, all cores) during the run: {cpu:.1f} s, {cpu / args.students:.2f} s a submission")
    print(f"grade_seconds_total: {seconds:.1f}")
    print(f"grade_seconds_per_submission: {seconds / args.students:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
