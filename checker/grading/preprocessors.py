"""The course's steps in nbgrader's own autograde pipeline, so `make grade`, `nbgrader autograde`
and the Formgrader's Autograde button grade a notebook the same way (registered in
nbgrader_config.py):

    LocateHiddenTests  the hidden tests load the grader's checker from a path written in here,
                       not from anything the kernel could change (its sys.modules, its environment)
    CourseExecute      nbgrader's Execute, with the kernel's environment set by the grader (the
                       grading seed, fast mode, one thread), each kernel sandboxed (sandbox.py)
                       and forked warm (warm_kernels.py), a time budget for the whole notebook
                       and a cap on its output
    ApplyRules         every graded check from the first learner cell that breaks the lesson's
                       rules (checker/rules.py) gets 0 points, whatever the kernel printed, unless
                       the instructor overruled it (overrules.py); what is only for review gets a
                       note under its cell, and the score stands
    CreditCarriedForward  a check that is right given the learner's earlier answers (its hidden
                       test said so, checker/chain.py) gets the credit the course gives such steps

All three run in the grading process, from the submitted notebook.
"""

import html
import functools
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader import utils
from traitlets import Bool, Enum, Integer

from ..environment import GRADED_ENV_VAR, SEED_ENV_VAR
from ..rules import flag_reason, judge, review_reasons
from . import cgroups, guard, sandbox, seeds
from .credit import credited_outputs
from .judge import VERDICTS_KEY
from .overrules import read_overrules
from .verify import KEY_ENV_VAR
from .warm_kernels import SandboxedKernelManager, WarmKernelManager

CHECKER_PACKAGE = Path(__file__).resolve().parents[1]  # the folder of `checker` itself
# The line of every hidden test that finds the checker; in the solutions (run by nbval) it asks
# the kernel, in grading it is replaced by the grader's own folder.
HIDDEN_TESTS_LOCATOR = '_folder = __import__("checker").__path__[0]'
# Every sandboxed kernel's private folder (connection file, sockets) is in here, hidden from all of them.
KERNELS_FOLDER = Path(tempfile.gettempdir()) / f"backprop-ninja-kernels-{os.getuid()}"
RESOURCES = "backprop_ninja"  # what the course's steps tell each other in nbgrader's resources
FLAG = "FlaggedByGrader"  # the error name a flagged check shows on the feedback page
OUT_OF_TIME = "NotebookTimeBudget"  # the error of cells not run once the notebook's time was up
DECISIONS = "backprop_ninja"  # the notebook's metadata where ApplyRules records what it decided, for grades.csv


class LocateHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_TESTS_LOCATOR in cell.source:
            cell.source = cell.source.replace(HIDDEN_TESTS_LOCATOR, f"_folder = {str(CHECKER_PACKAGE)!r}")
        return cell, resources


class CourseExecute(Execute):
    """Every kernel that grades a notebook. Its environment is the grader's, never inherited
    settings of the course's (a BACKPROP_NINJA_* variable in the shell that started nbgrader); it
    runs sandboxed (sandbox.py) in a cgroup of its own that is killed, with everything the kernel
    started, when the notebook is done (cgroups.py); the whole notebook has a time budget, its
    output a size cap."""

    _kernels = 0  # kernels started by this process, for their cgroups' names

    seed = Integer(None, allow_none=True, help="one grading seed for every student; by default (None) each "
                   "student's own secret seed for the lesson, in this course (seeds.py)").tag(config=True)
    fast = Bool(True, help="training loops run their short version (Exercise 4: 4,000 steps)").tag(config=True)
    warm_kernels = Bool(True, help="fork each kernel from a zygote that has imported torch").tag(config=True)
    sandbox = Bool(True, help="sandbox every kernel (Landlock, limits); refuse to grade where that is impossible").tag(config=True)
    memory_limit_mb = Integer(4096, help="a kernel's address space").tag(config=True)
    file_limit_mb = Integer(64, help="the largest file a kernel may write").tag(config=True)
    disk_limit_mb = Integer(256, help="all a kernel may write, in memory, never on the course's disk "
                                      "(where the machine allows: sandbox.private_writes)").tag(config=True)
    process_limit = Integer(256, help="processes (threads included) a kernel may have: its own user's limit "
                                      "and its cgroup's pids.max").tag(config=True)
    guard = Bool(True, help="with the sandbox, a Python audit hook refuses and records frames, exec, "
                            "imports, files ... used by the learner's code (guard.py)").tag(config=True)
    notebook_budget = Integer(600, help="seconds the whole notebook may run; then the rest is not run").tag(config=True)
    output_limit_kb = Integer(2048, help="output kept from the whole notebook; the rest is cut").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel_manager_class = WarmKernelManager if self.warm_kernels else SandboxedKernelManager
        self._private = None  # the running kernel's private folder: its connection file and sockets
        self._group = None  # the running kernel's cgroup
        self._channel = None  # the guard's record of the running kernel, hidden from it
        if "--InteractiveShell.automagic=False" not in self.extra_arguments:  # `time x = 1` is not a magic
            self.extra_arguments = [*self.extra_arguments, "--InteractiveShell.automagic=False"]

    def create_kernel_manager(self):
        """The kernel's connection file (its ports and signing key) goes in a private folder no other
        sandboxed kernel can read; where the kernel gets a network namespace of its own, it talks
        over Unix sockets there instead of TCP."""
        km = super().create_kernel_manager()
        if self.sandbox:
            KERNELS_FOLDER.mkdir(mode=0o700, exist_ok=True)
            self._private = Path(tempfile.mkdtemp(prefix="k", dir=KERNELS_FOLDER))
            km.connection_file = str(self._private / "kernel.json")
            if sandbox.network_namespaces():
                km.transport, km.ip = "ipc", str(self._private / "s")
        return km

    # the kernel's environment and sandbox ---------------------------------------------------------
    def kernel_environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPROP_NINJA_")}
        env.update({SEED_ENV_VAR: str(self._seed), GRADED_ENV_VAR: "1", "OMP_NUM_THREADS": "1"})
        env[KEY_ENV_VAR] = secrets.token_hex(8)  # the hidden tests' private checker, under a name nobody knows
        if self.fast:
            env["BACKPROP_NINJA_FAST"] = "1"
        if self._group:
            env[cgroups.ENV_VAR] = self._group.to_json()  # joined first thing in the kernel (sandbox.py)
        if self.sandbox:
            scratch = Path(self.resources.get("metadata", {}).get("path") or os.getcwd()).resolve()
            private = scratch / ".kernel"  # IPython's, matplotlib's and temporary files, inside the sandbox
            private.mkdir(exist_ok=True)
            env.update(IPYTHONDIR=str(private / "ipython"), MPLCONFIGDIR=str(private / "matplotlib"),
                       TMPDIR=str(private))
            course = Path(self.config.CourseDirectory.get("root") or os.getcwd()).resolve()
            hidden = [course, KERNELS_FOLDER, Path(jupyter_runtime_dir()).resolve()]
            readable = [CHECKER_PACKAGE, CHECKER_PACKAGE.parent / "data", Path(sys.prefix).resolve()]
            env[sandbox.POLICY_ENV_VAR] = json.dumps(sandbox.policy(
                str(scratch), str(self._private), [str(p) for p in hidden], [str(p) for p in readable],
                self.memory_limit_mb, self.file_limit_mb, self.process_limit,
                own_network=sandbox.network_namespaces(),
                disk_mb=self._disk_budget()))
            if self.guard:
                # beside the kernel's private folder, in the folder the sandbox hides from every kernel
                self._channel = self._private.with_name(self._private.name + ".guard")
                self._channel.touch(mode=0o600)
                env[guard.POLICY_ENV_VAR] = json.dumps(guard.policy(
                    str(self._channel), [str(scratch)], [str(p) for p in readable] + [sys.base_prefix],
                    course_cells(self.nb)))
        return env

    def _disk_budget(self) -> int | None:
        """The megabytes a sandboxed kernel may write in all, None where the machine cannot hold it to that."""
        return self.disk_limit_mb if self.sandbox and sandbox.private_writes() else None

    def grading_seed(self, resources: dict) -> int:
        """The configured seed, or else this student's secret seed for this lesson (seeds.py)."""
        if self.seed is not None:
            return self.seed
        course = Path(self.config.CourseDirectory.get("root") or os.getcwd()).resolve()
        graded = resources.get("nbgrader", {})
        return seeds.seed_for(course, graded.get("student") or "", graded.get("assignment") or "")

    # nbclient starts kernels through both (the sync one is not a call of the async override)
    def start_new_kernel(self, **kwargs):
        started = super().start_new_kernel(**kwargs, env=self.kernel_environment())
        self._join_group()
        return started

    async def async_start_new_kernel(self, **kwargs):
        started = await super().async_start_new_kernel(**kwargs, env=self.kernel_environment())
        self._join_group()
        return started

    # the kernel's cgroup -----------------------------------------------------------------------
    def _make_group(self) -> "cgroups.Group":
        """Under make grade's run group, or else (plain nbgrader) under this process's own cgroup."""
        parent = cgroups.Group.from_json(os.environ.get(cgroups.RUN_ENV_VAR) or None)
        CourseExecute._kernels += 1
        name = f"k{os.getpid()}-{CourseExecute._kernels}"
        group = cgroups.Group.make(name if parent else f"backprop-ninja-{name}", parent)
        if group:
            group.limit_processes(self.process_limit)
        return group

    def _join_group(self) -> None:
        """A kernel without the sandbox (which joins from inside, before any of its code) is moved in
        from outside; for a sandboxed one this changes nothing."""
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if self._group and pid:
            try:
                self._group.join(pid)
            except OSError:
                pass

    # the notebook's time budget and output cap -------------------------------------------------
    def preprocess(self, nb, resources, km=None):
        if self.sandbox and (missing := sandbox.missing()):
            raise RuntimeError(f"Grading kernels cannot be sandboxed on this machine: {missing}. "
                               "Grade elsewhere, or without the sandbox (make grade --no-sandbox, or "
                               "c.CourseExecute.sandbox = False) on a machine you trust with the submissions.")
        self._seed = self.grading_seed(resources)
        # the judge (judge.py) rebuilds the references from these
        resources.setdefault(RESOURCES, {}).update(seed=self._seed, fast=self.fast)
        self._started, self._cell_timeout = time.monotonic(), self.timeout
        self._output_bytes, self._output_cut = 0, False
        self._group = self._make_group()
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
            if self._disk_budget():  # for grades.csv, if a cell ran out of it
                nb.metadata.setdefault(DECISIONS, NotebookNode())["disk_mb"] = self._disk_budget()
        finally:
            if self._group:  # the kernel and everything it started, however detached
                self._group.remove()
                self._group = None
            self.timeout = self._cell_timeout
            if self._channel is not None:
                found = guard.refusals(self._channel)
                self._channel.unlink(missing_ok=True)
                self._channel = None
                cells = {c.get("execution_count"): i for i, c in enumerate(nb.cells) if c.cell_type == "code"}
                for record in found:  # which of the notebook's cells was running, and which holds the code
                    record["cell_index"] = cells.get(record["cell"])
                    record["defined_index"] = cells.get(record.get("defined_in"))
                # for the steps after this one, and kept in the autograded notebook (nbgrader_config.py)
                resources.setdefault("backprop_ninja", {})["refusals"] = found
                nb.metadata.setdefault("backprop_ninja", {})["refusals"] = found
            if self._private is not None:
                shutil.rmtree(self._private, ignore_errors=True)
                self._private = None
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            left = self.notebook_budget - (time.monotonic() - self._started)
            if left <= 0:
                reason = (f"not run: the whole notebook may run {self.notebook_budget} s when graded, "
                          "and that time was used up by the cells above")
                cell.outputs = [_error(OUT_OF_TIME, reason)]
                resources.setdefault("nbgrader", {})["out_of_time"] = True
                return cell, resources
            self.timeout = max(1, math.ceil(min(self._cell_timeout or left, left)))
        return super().preprocess_cell(cell, resources, index)

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self._output_bytes + size > self.output_limit_kb * 1024:
            if not self._output_cut:
                self._output_cut = True
                outs.append(NotebookNode(output_type="stream", name="stdout", text=(
                    f"\n[output cut here: the grader keeps {self.output_limit_kb} KB of a notebook's output]\n")))
            return None
        self._output_bytes += size
        return super().output(outs, msg, display_id, cell_index)


def course_cells(nb) -> list[str]:
    """The sources of the notebook's cells that are the course's, not the learner's: the cells
    nbgrader locks (their text, checks and hidden tests included, is restored from the sources by
    OverwriteCells before this pipeline's steps run; a cell it does not know loses its grade_id)."""
    return [cell.source for cell in nb.cells if cell.cell_type == "code" and
            cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") and utils.is_locked(cell)]


def _error(name: str, reason: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=reason, traceback=[f"\x1b[0;31m{name}\x1b[0m: {reason}"])


class ApplyRules(NbGraderPreprocessor):
    """Scan the learner's cells (checker.rules) and replace the outputs of every graded cell from
    the first offense on with one error that gives the reason: nbgrader scores it 0, and the
    feedback page shows why. An overrule in the course's overrules.csv leaves the scores alone; an
    item for review gets a note under its cell. What was decided goes in the notebook's metadata.
    A guard in the kernel may hand in what it refused as resources["refusals"] (see rules.judge)."""

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        lesson = info.get("assignment")
        course = Path(self.config.CourseDirectory.get("root") or os.getcwd())
        verdict = judge(nb.cells, lesson, resources.get(RESOURCES, {}).get("refusals", ()),
                        _locked_ids(course, lesson, info.get("notebook")))
        flag = flag_reason(verdict, lesson)
        course = Path(self.config.CourseDirectory.get("root") or os.getcwd())
        note = read_overrules(course).get((info.get("student"), lesson)) if flag else None
        if flag and note is None:
            for cell in nb.cells[verdict.broke[0]:]:
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                    cell.outputs = [_error(FLAG, flag)]
            for judged in nb.metadata.get(VERDICTS_KEY[0], {}).get(VERDICTS_KEY[1], []):  # judge.py's, for the report
                if judged["cell"] >= verdict.broke[0]:
                    judged["flagged"] = True
        for index, grade_id, finding in verdict.review:
            nb.cells[index].setdefault("outputs", []).append(_review_note(f"{verdict.where(index, grade_id)} {finding}"))
        nb.metadata.setdefault(DECISIONS, NotebookNode()).update(
            flagged=flag if note is None else "",
            overruled=f"flag overruled by the instructor: {note or 'no note'} (the rules said: {flag})" if note is not None else "",
            for_review=review_reasons(verdict))
        return nb, resources


def _locked_ids(course: Path, lesson: str | None, notebook: str | None) -> frozenset | None:
    """The grade_ids of the lesson's own locked cells, read from its source in solutions/ (the
    submitted notebook's metadata is the learner's to edit); None where the source is not there."""
    path = course / "solutions" / str(lesson) / f"{notebook}.ipynb"
    if not lesson or not notebook or not path.is_file():
        return None
    return _locked_ids_of(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _locked_ids_of(path: str, mtime: int) -> frozenset:
    """Read once per source and version: a worker grades many submissions of one lesson."""
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    return frozenset(c.metadata.get("nbgrader", {}).get("grade_id") for c in cells
                     if c.metadata.get("nbgrader", {}).get("locked") and not c.metadata.get("nbgrader", {}).get("solution"))


def _review_note(reason: str) -> NotebookNode:
    text = f"For your instructor's review: {reason}. Your score is not affected."
    return NotebookNode(output_type="display_data", metadata={DECISIONS: "for review"},
                        data={"text/plain": text, "text/html": f"<p style='background:#fff3cd;padding:4px'><b>{html.escape(text)}</b></p>"})


class CreditCarriedForward(NbGraderPreprocessor):
    """Error carried forward, as a careful marker gives it: a step that is wrong against autograd
    only because an earlier answer is earns `full` credit (the default), `half` or `none`."""

    credit = Enum(["full", "half", "none"], "full", help="credit for a step right given earlier answers").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            outputs = credited_outputs(cell.get("outputs", []), float(cell.metadata["nbgrader"]["points"]), self.credit)
            if outputs is not None:
                cell.outputs = outputs
        return cell, resources
