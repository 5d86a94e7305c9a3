"""Writes the install line into every lesson, from pyproject.toml's [project.urls] Repository:
`make install-line`, then `make lessons`. Run it whenever the course moves to another address.

For every solutions/<lesson>/<notebook>.ipynb:
- its kernelspec becomes the plain `python3` one that every Jupyter, hub, Colab and Binder has
  (grading and nbval still name the course kernel themselves);
- its first code cell starts by importing the checker, and where the kernel lacks it says in one
  sentence how to install it: a ready `%pip install` line (Colab, a hub, any Jupyter alike)
  instead of a ModuleNotFoundError. Run again, it replaces the block it wrote before.
Notebooks are edited as JSON and written back the way they are committed.
"""

import json
import sys
import tomllib
from pathlib import Path

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
MARKER = "import checker  # the course's checker"


def install_block(url: str) -> str:
    line = f'%pip install "backprop-ninja-checker @ git+{url}"'
    return (
        "try:\n"
        f"    {MARKER}: where this kernel lacks it, you are told how to install it\n"
        "except ModuleNotFoundError:\n"
        "    class CheckerMissing(Exception):\n"
        "        _render_traceback_ = lambda self: [str(self)]  # one sentence, not a traceback\n"
        "    raise CheckerMissing(\"This kernel does not have the course's checker: run \"\n"
        f"                         '{line} '\n"
        "                         \"in a new cell (on Colab too), then run this cell again.\") from None\n"
        "\n"
    )


def edit(notebook: Path, block: str) -> bool:
    text = notebook.read_text(encoding="utf-8")
    nb = json.loads(text)
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    first = next(cell for cell in nb["cells"] if cell["cell_type"] == "code")
    source = "".join(first["source"])
    if MARKER in source:  # already edited: replace the old block, e.g. after the URL changed
        source = source[source.index("\n\n", source.index("raise CheckerMissing")) + 2:]
    first["source"] = (block + source).splitlines(keepends=True)
    new = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    if new != text:
        notebook.write_text(new, encoding="utf-8")
    return new != text


def main() -> None:
    course = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()  # the course folder
    url = tomllib.loads((course / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    block = install_block(url)
    for notebook in sorted(course.glob("solutions/*/*.ipynb")):
        print(("edited   " if edit(notebook, block) else "unchanged"), notebook.relative_to(course))


if __name__ == "__main__":
    main()
