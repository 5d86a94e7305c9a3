"""Writes the checker's install message into every lesson: `make install-line`, then `make lessons`.
Run it whenever the message below changes, e.g. once the checker is on PyPI (ON_PYPI).

For every solutions/<lesson>/<notebook>.ipynb:
- its kernelspec becomes the plain `python3` one that every Jupyter, hub, Colab and Binder has
  (grading and nbval still name the course kernel themselves);
- its first code cell starts by importing the checker, and where the kernel lacks it says in one
  sentence how to install it, instead of a ModuleNotFoundError. Run again, it replaces the block it
  wrote before.
The message names no repository address: a lesson can be copied anywhere, and the learner knows
where they found the course. Notebooks are edited as JSON and written back the way they are committed.
"""

import json
import sys
from pathlib import Path

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
MARKER = "import checker  # the course's checker"
PACKAGE = "backprop-ninja-checker"
# False until `backprop-ninja-checker` has a release on PyPI (docs/maintainers.md, "Releasing"). Then
# set it to True, run `make install-line` and `make lessons`: the lessons say `%pip install` it.
ON_PYPI = False


def install_command(on_pypi: bool = ON_PYPI) -> str:
    """What a learner types into a cell; the README shows the same line."""
    return f"%pip install {PACKAGE}" if on_pypi else "%pip install <the clone's folder>"


def message(on_pypi: bool = ON_PYPI) -> list[str]:
    """The sentence a kernel without the checker shows, in the pieces the cell's source writes one a line."""
    if on_pypi:
        return ["This kernel does not have the course's checker: run ",
                f"{install_command(on_pypi)} ",
                "in a new cell (on Colab too), then run this cell again."]
    # A plain (not editable) install: it lands in site-packages, which the running kernel already
    # searches, so "run this cell again" works without a restart.
    return ["This kernel does not have the course's checker, ",
            f"the package {PACKAGE}, which is not on PyPI yet: ",
            "install it from a clone of the course's repository by running ",
            f"{install_command(on_pypi)} ",
            "in a new cell (on Colab, first !git clone the repository), then run this cell again; ",
            "or run make lab in the clone, whose JupyterLab has it."]


def _quoted(piece: str) -> str:
    """A Python string literal in double quotes, like the cell's other strings."""
    return '"' + piece.replace("\\", "\\\\").replace('"', '\\"') + '"'


def install_block(on_pypi: bool = ON_PYPI) -> str:
    pieces = message(on_pypi)
    indent = " " * len("    raise CheckerMissing(")
    said = f"\n{indent}".join(_quoted(piece) for piece in pieces)
    return (
        "try:\n"
        f"    {MARKER}: where this kernel lacks it, you are told how to install it\n"
        "except ModuleNotFoundError:\n"
        "    class CheckerMissing(Exception):\n"
        "        _render_traceback_ = lambda self: [str(self)]  # one sentence, not a traceback\n"
        f"    raise CheckerMissing({said}) from None\n"
        "\n"
    )


def edit(notebook: Path, block: str) -> bool:
    text = notebook.read_text(encoding="utf-8")
    nb = json.loads(text)
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    first = next(cell for cell in nb["cells"] if cell["cell_type"] == "code")
    source = "".join(first["source"])
    if MARKER in source:  # already edited: replace the old block, e.g. after the message changed
        source = source[source.index("\n\n", source.index("raise CheckerMissing")) + 2:]
    first["source"] = (block + source).splitlines(keepends=True)
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"  # keys in their committed order: a minimal diff
    if new != text:
        notebook.write_text(new, encoding="utf-8")
    return new != text


def main() -> None:
    course = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()  # the course folder
    block = install_block()
    for notebook in sorted(course.glob("solutions/*/*.ipynb")):
        print(("edited   " if edit(notebook, block) else "unchanged"), notebook.relative_to(course))


if __name__ == "__main__":
    main()
