"""`make mutate`: mutation testing of the checker's core with mutmut ([tool.mutmut] in pyproject.toml).

mutmut changes compare.py, diagnose.py and the grading policy on carried-forward steps
(grading/credit.py) one small edit at a time (a number, a comparison, a word of
a sentence) and runs the fast unit tests on each change. This prints `mutants: N killed: K survived:
S` and the run's time, then every surviving mutant with its diff. A survivor listed in EQUIVALENT,
with why it changes no verdict, hint or score, is expected; any other survivor fails the run, and so
does a mutant no test runs.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EQUIVALENT = {
    # the inputs are float64 already (the references' truth) or promoted by the float64 operand
    "checker.compare.x__compare_values__mutmut_62": "truth.to(None): every caller's truth is float64 already",
    "checker.compare.x__compare_values__mutmut_67": "yours.to(None): float32 minus float64 truth is computed in float64",
    "checker.compare.x__compare_values__mutmut_73": "expected.to(None): float32 minus float64 truth is computed in float64",
    "checker.diagnose.x_diagnose__mutmut_2": "yours.to(None): every use meets a float64 operand, so it is float64 anyway",
    # the checker runs on the CPU only: a number is put on the CPU with or without the expected device
    "checker.compare.x_compare__mutmut_17": "device=None is the CPU, where every reference of the course lives",
    "checker.compare.x_compare__mutmut_20": "no device is the CPU, where every reference of the course lives",
    # boundaries that real-valued measurements of different tensors never meet exactly
    "checker.diagnose.x__constant_factor__mutmut_6": "k == 1 instead of 0: k is exactly 1 only for an answer equal "
        "to the truth, which the verdict accepts before any hint; k exactly 0 then fails the fit anyway",
    "checker.diagnose.x__constant_factor__mutmut_10": "< instead of <= on a fit measured in float64 sums: equality is "
        "never met by a real answer",
    "checker.diagnose.x__factor_hint__mutmut_31": "< instead of <= on k, a ratio of float64 sums: |k - factor| is never "
        "exactly 1e-3 × factor",
    # an empty gradient: its error is 0 under any allowance, and a 0-dim tensor's first index is ()
    "checker.compare.x__compare_values__mutmut_78": "scale 1.0 for an empty truth: it only sets the allowance, and an "
        "empty answer's error is 0 under any allowance",
    "checker.compare.x__input_problem__mutmut_66": "`or True`: for a 0-dim tensor bad.nonzero()[0] is the empty index "
        "(), the same as the else branch",
    # unreachable: equal shapes never get a shape hint
    "checker.compare.x__shape_hint__mutmut_56": "extra >= 0: with no extra dimension the shapes would be equal, and "
        "equal shapes are never asked for a hint",
}


def mutmut(*args, log=None) -> subprocess.CompletedProcess:
    # mutmut forks a worker per mutant from a process that has run torch: a thread pool does not
    # survive a fork (the worker hangs), so one thread each.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=ROOT, env=env, text=True,
                          stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT)


def main() -> int:
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # from scratch: mutmut's cache misses changed tests
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:  # mutmut's progress line, redrawn thousands of times
        done = mutmut("run", "--max-children", str(os.cpu_count() or 1), log=log)
        if done.returncode != 0:
            log.seek(0)
            print(log.read()[-5000:])
            print(f"mutmut run exited {done.returncode}")
            return 1
    seconds = time.monotonic() - start

    statuses = {}
    for line in mutmut("results", "--all", "true").stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name.startswith("checker."):
            statuses[name] = status
    counts = Counter(statuses.values())
    survivors = sorted(name for name, status in statuses.items() if status == "survived")
    untested = sorted(name for name, status in statuses.items() if status not in ("killed", "timeout", "survived"))
    killed = counts["killed"] + counts["timeout"]
    print(f"mutants: {len(statuses)} killed: {killed} survived: {len(survivors)}")
    print(f"seconds: {seconds:.0f} (of the killed, {counts['timeout']} by a timeout)")

    unexplained = []
    for name in survivors:
        reason = EQUIVALENT.get(name)
        print(f"\n{name}: " + (f"equivalent, {reason}" if reason else "NOT KNOWN TO BE EQUIVALENT"))
        diff = mutmut("show", name).stdout.splitlines()
        print("\n".join(line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")))
        if not reason:
            unexplained.append(name)
    for name in untested:
        print(f"\n{name}: {statuses[name]}")
    if unexplained or untested:
        print(f"\n{len(unexplained)} survivor(s) not known to be equivalent, {len(untested)} mutant(s) not tested: "
              "write a test that kills each, or list it in EQUIVALENT (bench/mutate.py) with the reason")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
