"""A submitted notebook's cells put back the way the lesson has them, before nbgrader's own steps.

Ordinary edits in JupyterLab make a notebook that nbgrader's sanitize steps cannot grade:
copy-paste duplicates a cell with its grade_id, an answer can be deleted together with its check
(nbgrader restores a check after the cell before it, which is gone too), and a cell pasted from
elsewhere or with its metadata cleared loses its grade_id. A careful marker would grade such a
notebook from the lesson, and so does `RestoreLessonCells`, the first of the sanitize steps
(nbgrader_config.py), against the lesson's source, solutions/<lesson>/<notebook>.ipynb, released
the way `nbgrader generate_assignment` releases it:

- every cell of the lesson appears once, in the lesson's order; the learner's own cells stay
  after the lesson cell they followed;
- an extra copy of a cell is ignored. For an answer cell, the copy graded is the LAST one whose
  code is not the lesson's placeholder: Run All runs the copies top to bottom, so the last one
  is the one the learner's own check saw. Other copies with code of their own stay, as the
  learner's cells just before it (helpers they wrote there still run); placeholder copies go;
- a cell that lost nbgrader's metadata gets it back when its text is a lesson cell's, or, for an
  answer cell, when it is the learner's code cell where that answer cell is missing (just before
  its check);
- a lesson cell that is missing is put back from the lesson: a check as the lesson has it, an
  answer cell with the lesson's placeholder, so its check says "not done yet";
- nbgrader metadata on the learner's own cells (pasted from another notebook) is removed: a
  grade_id nbgrader does not know stops its steps.

What was done goes in the notebook's metadata (for grades.csv) and in a note at the top of the
feedback page. A notebook that changed nothing of this is left exactly as it was. One that holds
fewer than half of the lesson's own cells is not this lesson's notebook (another lesson's,
handed in under this name): grading stops with `NotThisLesson`, one sentence saying so.
"""

import copy
import difflib
import functools
import os
import uuid
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import (ClearHiddenTests, ClearOutput, ClearSolutions, ComputeChecksums, LockCells,
                                    NbGraderPreprocessor)

DECISIONS = "backprop_ninja"  # the notebook's metadata the course's steps write (preprocessors.py)
RESTORED = "restored"  # what this step did, a list of sentences, under DECISIONS
# nbgrader's metadata that says what a cell is; the rest (checksum, schema) nbgrader keeps itself
ROLE = ("grade_id", "grade", "solution", "locked", "task", "points")
# a locked cell with the lesson's grade_id is the lesson's if its words are at least this close
# (an older release of the lesson, a typo fixed since); other lessons' cells under the same
# grade_id (md_001, ...) are below it, but for the set-up cell code_002, alike in every lesson
SIMILAR = 0.6


class NotThisLesson(Exception):
    """The notebook is not the lesson's: its message is the one sentence for grades.csv."""


def _role(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    return {k: meta.get(k) for k in ROLE if k in meta}


def _text(source: str) -> str:
    return source.strip()


def released(source_nb, config=None) -> NotebookNode:
    """The lesson as learners get it, made from its source the way generate_assignment makes it."""
    nb = copy.deepcopy(source_nb)
    resources = {}
    for step in (LockCells, ClearSolutions, ClearOutput, ComputeChecksums, ClearHiddenTests, ComputeChecksums):
        nb, resources = (step(config=config) if config is not None else step()).preprocess(nb, resources)
    return nb


@functools.lru_cache(maxsize=32)
def _lesson_of(path: str, mtime: int, stub: str) -> NotebookNode:
    """Read and released once per source and version: a worker grades many submissions of a lesson."""
    from traitlets.config import Config

    config = Config()
    config.ClearSolutions.code_stub = {"python": stub}
    return released(nbformat.read(path, as_version=4), config)


def lesson_notebook(course: Path, lesson: str, notebook: str, stub: str) -> NotebookNode | None:
    path = Path(course) / "solutions" / lesson / f"{notebook}.ipynb"
    if not path.is_file():
        return None
    return _lesson_of(str(path), path.stat().st_mtime_ns, stub)


def code_stub(config) -> str:
    stub = config.ClearSolutions.get("code_stub", {}) if config is not None else {}
    return stub.get("python", "# YOUR CODE HERE") if isinstance(stub, dict) else str(stub)


class _Lesson:
    def __init__(self, nb):
        self.cells = nb.cells
        self.ids = [_role(c).get("grade_id") for c in nb.cells]
        self.index = {grade_id: i for i, grade_id in enumerate(self.ids)}
        self.by_text = {}
        for i, cell in enumerate(nb.cells):  # a text that two lesson cells share identifies neither
            self.by_text.setdefault((cell.cell_type, _text(cell.source)), []).append(i)
        self.answers = {i for i, c in enumerate(nb.cells) if _role(c).get("solution")}
        self.locked = [i for i in range(len(nb.cells)) if i not in self.answers]

    def same_text(self, i: int, cell) -> bool:
        return _text(self.cells[i].source) == _text(cell.source)

    def close_text(self, i: int, cell) -> bool:
        a, b = _text(self.cells[i].source), _text(cell.source)
        if a == b:
            return True
        matcher = difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False)  # by words: fast; cheap bounds first
        return matcher.real_quick_ratio() >= SIMILAR and matcher.quick_ratio() >= SIMILAR and matcher.ratio() >= SIMILAR

    def which(self, cell, strict: bool = False) -> tuple[int | None, bool]:
        """(the lesson cell this submitted cell is, whether it was known by its text alone). Its
        grade_id decides; `strict`, a locked cell's text must be close to the lesson's too (other
        lessons use the same grade_ids). Not strict, nbgrader puts an edited locked cell's text back."""
        i = self.index.get(_role(cell).get("grade_id"))
        if i is not None and (not strict or i in self.answers or self.close_text(i, cell)):
            return i, False
        found = self.by_text.get((cell.cell_type, _text(cell.source)), [])
        return (found[0], True) if len(found) == 1 else (None, False)

    def recognised(self, cells) -> int:
        """How many of the lesson's locked cells the notebook holds (a notebook of the lesson holds most)."""
        found = {self.which(cell, strict=True)[0] for cell in cells}
        return sum(1 for i in self.locked if i in found)


def _name(lesson: _Lesson, i: int) -> str:
    return lesson.ids[i] or f"cell {i + 1}"


def check_lesson(cells, lesson_nb, lesson: str, notebook: str, others=dict) -> None:
    """Raise NotThisLesson unless `cells` hold at least half of the lesson's locked cells;
    `others()` {lesson: its released notebook} names the lesson they look like."""
    known = _Lesson(lesson_nb)
    found = known.recognised(cells)
    if 2 * found >= len(known.locked):
        return
    looks = ""
    lessons = [(name, _Lesson(nb)) for name, nb in others().items() if name != lesson]
    best = max(((other.recognised(cells) / max(1, len(other.locked)), name) for name, other in lessons), default=(0, ""))
    if best[0] >= 0.5:
        looks = f", and looks like lesson {best[1]}'s"
    raise NotThisLesson(
        f"{notebook}.ipynb is not lesson {lesson}'s notebook (it holds {found} of the lesson's "
        f"{len(known.locked)} cells{looks}): hand in the notebook of lessons/{lesson}/, with your answers in it.")


def restore(nb, lesson_nb) -> tuple[NotebookNode, list[str]]:
    """The notebook with the lesson's cells put back (see the module's docstring), and what was done."""
    lesson = _Lesson(lesson_nb)
    # each submitted cell: the lesson cell it is (or None: the learner's own), known by text alone?
    seen = [lesson.which(cell) for cell in nb.cells]
    copies = {}  # lesson index -> [submitted index]
    for k, (i, _) in enumerate(seen):
        if i is not None:
            copies.setdefault(i, []).append(k)
    done = []
    # an answer cell that lost its metadata: the learner's code cell just before its check
    for i in sorted(lesson.answers):
        nxt = i + 1
        if i in copies or nxt not in copies or nxt in lesson.answers:
            continue
        k = copies[nxt][0] - 1
        if k >= 0 and seen[k][0] is None and nb.cells[k].cell_type == "code":
            seen[k] = (i, True)
            copies[i] = [k]
    chosen, before = {}, {}  # lesson index -> submitted index; -> learner's copies kept before it
    for i, ks in sorted(copies.items()):
        if i in lesson.answers:
            worked = [k for k in ks if not lesson.same_text(i, nb.cells[k])]
            pick = worked[-1] if worked else ks[-1]
            before[i] = [k for k in worked if k != pick and _text(nb.cells[k].source) != _text(nb.cells[pick].source)]
        else:  # a locked cell: its text comes from the lesson anyway; prefer a copy that kept its grade_id
            worked = []
            pick = next((k for k in reversed(ks) if not seen[k][1] and lesson.close_text(i, nb.cells[k])),
                        next((k for k in reversed(ks) if not seen[k][1]), ks[-1]))
        chosen[i] = pick
        if len(ks) > 1:
            graded = "the last one with your code" if i in lesson.answers and worked else "one"
            done.append(f"{len(ks)} copies of {_name(lesson, i)}: {graded} was graded")
    lost = [i for i, k in chosen.items() if seen[k][1] or (nb.cells[k].metadata.get("nbgrader") and
                                                           _role(nb.cells[k]) != _role(lesson.cells[i]))]
    if lost:
        done.append(f"nbgrader's metadata of {_names(lesson, lost)} was lost or changed: given back from the lesson")
    missing = [i for i in range(len(lesson.cells)) if i not in chosen]
    if missing:
        done.append(f"{_names(lesson, missing)} {'was' if len(missing) == 1 else 'were'} missing: put back from "
                    "the lesson" + (", answers left unanswered" if set(missing) & lesson.answers else ""))
    # the learner's own cells follow the lesson cell they followed (copies and all)
    after, anchor = {}, -1
    for k, (i, _) in enumerate(seen):
        if i is None:
            after.setdefault(anchor, []).append(k)
        else:
            anchor = i
    order = [chosen[i] for i in sorted(chosen)]
    if order != sorted(order):
        done.append("cells were out of the lesson's order: put back in it")
    foreign = [k for ks in after.values() for k in ks if "nbgrader" in nb.cells[k].metadata]
    if foreign:
        done.append(f"{len(foreign)} of your own cells carried nbgrader's metadata of cells this lesson does not have: removed")
    if not done:
        return nb, []
    cells, ids = [], set()
    # the learner's cells before the first lesson cell stay first
    placed = [("own", k) for k in after.get(-1, [])]
    for i in range(len(lesson.cells)):
        placed += [("own", k) for k in before.get(i, [])]
        placed.append(("lesson", i))
        placed += [("own", k) for k in after.get(i, [])]
    for kind, x in placed:
        if kind == "own":
            cell = copy.deepcopy(nb.cells[x])
            cell.metadata.pop("nbgrader", None)
        elif x in chosen:
            cell = copy.deepcopy(nb.cells[chosen[x]])
            if _role(cell) != _role(lesson.cells[x]):
                cell.metadata["nbgrader"] = copy.deepcopy(lesson.cells[x].metadata["nbgrader"])
        else:
            cell = copy.deepcopy(lesson.cells[x])
        if "id" in cell and (cell.id in ids or not cell.id):  # a copy made outside JupyterLab keeps its id
            cell.id = uuid.uuid4().hex[:8]
        ids.add(cell.get("id"))
        cells.append(cell)
    nb = copy.deepcopy(nb)
    nb.cells = cells
    return nb, done


def _names(lesson: _Lesson, indices, most: int = 4) -> str:
    names = [_name(lesson, i) for i in sorted(indices)]
    if len(names) > most:
        names = names[:most - 1] + [f"{len(names) - most + 1} more"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def note_cell(done: list[str]) -> NotebookNode:
    """The feedback page's note on what grading put back."""
    text = ("**How this notebook was graded.** It was not as the lesson has it, so it was graded from the "
            "lesson's own cells: " + "; ".join(done) + ".")
    return nbformat.v4.new_markdown_cell(text, metadata={DECISIONS: RESTORED})


class RestoreLessonCells(NbGraderPreprocessor):
    """The first sanitize step (nbgrader_config.py): see the module's docstring."""

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        lesson, notebook = info.get("assignment"), info.get("notebook")
        course = Path(self.config.CourseDirectory.get("root") or os.getcwd())
        # what the course's steps record is theirs to write, not the submission's
        nb.metadata.pop(DECISIONS, None)
        source = lesson_notebook(course, str(lesson), str(notebook), code_stub(self.config)) if lesson and notebook else None
        if source is None:
            return nb, resources
        check_lesson(nb.cells, source, lesson, notebook, lambda: other_lessons(course, code_stub(self.config)))
        nb, done = restore(nb, source)
        if done:
            nb.cells.insert(0, note_cell(done))
            nb.metadata[DECISIONS] = NotebookNode({RESTORED: done})
        return nb, resources


def as_graded(nb, course: Path, lesson: str, notebook: str) -> tuple[NotebookNode, list[str]]:
    """For `make validate`: the notebook as grading will see it and what was put back, or
    NotThisLesson. Without the lesson's source (a checker installed apart from the course), as it is."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config() \
        if (Path(course) / "nbgrader_config.py").is_file() else None
    source = lesson_notebook(course, lesson, notebook, code_stub(config))
    if source is None:
        return nb, []
    check_lesson(nb.cells, source, lesson, notebook, lambda: other_lessons(course, code_stub(config)))
    return restore(nb, source)


def other_lessons(course: Path, stub: str) -> dict:
    """{lesson: its released notebook} for every lesson in the course with one notebook."""
    found = {}
    for folder in sorted((Path(course) / "solutions").glob("*")):
        sources = sorted(folder.glob("*.ipynb"))
        if len(sources) == 1:
            found[folder.name] = lesson_notebook(course, folder.name, sources[0].stem, stub)
    return found
