"""The checker as a release publishes it and a learner's hub or Colab gets it: an sdist and a wheel,
the wheel installed outside the repository with its runtime dependencies only, running lessons under
a plain `python3` kernel.

Both are built by `make dist` (python -m build, as the release workflow runs it: the sdist first,
then the wheel from the sdist, so a file the sdist lacks fails here) from a copy of what a clone
holds. The sdist holds the package, its templates and data/; the wheel holds the package, its
templates and the data inside it. The wheel is put in a fresh virtual environment under a temporary
folder, where `import checker` works, and three lessons of different kinds (Exercise 1, lesson 2's
class checks, the capstone), with the reference answers typed in, run there from another temporary
folder: every check passes, and the data comes from inside the installed package.

Installing torch and the rest into a new environment takes 25-40 s here (the whole test then about
40 s; about 15 s with them cached, on the 2-core machine; building the sdist and the wheel, about
3 s more), so the dependencies are installed once per set of requirements into a cache folder
(keyed on the wheel's own Requires-Dist, requirements.txt's pins and the Python version) and the
fresh environment reaches them through a .pth file. The environment still holds nothing but the wheel, what pip resolved from
the wheel's metadata, and ipykernel; nothing of the repository or its venv is on its path.
"""

import hashlib
import json
import os
import re
import shutil
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
import torch
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from checker.grading.install_line import message
from course import LESSONS, ROOT, SOLUTIONS, nbgrader_meta, read, run, solutions_by_id, with_answers

LESSONS_RUN = ["04_makemore_atomic_backprop", "02_scalar_autograd_engine", "08_capstone_autograd_function"]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "backprop-ninja"
STALE_AFTER_S = 24 * 3600  # cached folders unused this long are removed


def build(folder: Path) -> tuple[Path, Path]:
    """The sdist and the wheel `make dist` builds from a clone: only the files git would hold (tracked or to be added)."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout.split("\0")
    clone = folder / "clone"
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    # No build isolation: the repository's venv already has setuptools, so no download per run.
    run("make", "-s", "dist", f"SOURCE={clone}", f"DIST_DIR={folder / 'dist'}", "BUILD_ARGS=--no-isolation")
    [sdist] = (folder / "dist").glob("backprop_ninja_checker-*.tar.gz")
    [wheel] = (folder / "dist").glob("backprop_ninja_checker-*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("build"))


def requirements_of(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return [line for line in archive.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]


def dependencies(wheel: Path) -> Path:
    """site-packages of a cached environment with the wheel's runtime dependencies and ipykernel, as
    pip resolves them from the wheel, pinned by requirements.txt (the CPU torch on this disk)."""
    key = hashlib.sha256("\n".join([*requirements_of(wheel), (ROOT / "requirements.txt").read_text(),
                                    sys.version]).encode()).hexdigest()[:16]
    final = CACHE / f"wheel-test-deps-{key}"
    if not final.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        for old in CACHE.glob("*"):  # other requirements' folders, and halves of interrupted builds
            if time.time() - old.stat().st_mtime > STALE_AFTER_S:
                shutil.rmtree(old, ignore_errors=True)
        building = CACHE / f"building-{key}-{os.getpid()}"
        run(sys.executable, "-m", "venv", "--without-pip", str(building))
        target = site_packages(building)
        run(sys.executable, "-m", "pip", "--python", str(building / "bin" / "python"), "install", "--quiet",
            "-c", str(ROOT / "requirements.txt"), str(wheel), "ipykernel")
        run(sys.executable, "-m", "pip", "--python", str(building / "bin" / "python"), "uninstall", "--quiet", "-y",
            "backprop-ninja-checker")
        assert not (target / "checker").exists()
        try:
            building.rename(final)  # whole or not at all: a run stopped halfway leaves no cache
        except OSError:  # another run made it first
            shutil.rmtree(building, ignore_errors=True)
    os.utime(final)
    return site_packages(final)


def site_packages(venv: Path) -> Path:
    return venv / Path(sysconfig.get_path("purelib")).relative_to(sys.prefix)


def kernel_environment(venv: Path) -> dict:
    """What a learner's kernel has: none of the course's variables but fast mode, nothing of this repository."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BACKPROP_NINJA_", "JUPYTER_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}/usr/local/bin:/usr/bin:/bin", "BACKPROP_NINJA_FAST": "1",
            "OMP_NUM_THREADS": "1"}


def execute(notebook, venv: Path, cwd: Path):
    """Run `notebook` in the venv's plain `python3` kernel, found only among that venv's kernelspecs."""
    specs = KernelSpecManager(kernel_dirs=[str(venv / "share" / "jupyter" / "kernels")], ensure_native_kernel=False)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    NotebookClient(notebook, km=km, timeout=300, allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute(env=kernel_environment(venv))
    return notebook


def errors(notebook) -> list[str]:
    return [f"cell {i}: {out.get('ename')}: {out.get('evalue')}" for i, cell in enumerate(notebook.cells)
            for out in cell.get("outputs", []) if out.output_type == "error"]


def test_the_sdist_holds_what_the_wheel_is_built_from(built):
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        names = {name.removeprefix(f"{top}/") for name in archive.getnames()}
    python_files = {str(p.relative_to(ROOT)) for p in (ROOT / "checker").rglob("*.py")}
    templates = {str(p.relative_to(ROOT)) for p in (ROOT / "checker" / "grading" / "templates").rglob("*.j2")}
    data = {str(p.relative_to(ROOT)) for p in (ROOT / "data").iterdir()}
    assert templates and data
    missing = (python_files | templates | data | {"setup.py", "pyproject.toml", "MANIFEST.in", "PKG-INFO"}) - names
    assert not missing, f"the sdist lacks {sorted(missing)}"


def test_the_wheel_holds_the_package_its_data_and_its_templates(built):
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in sorted((ROOT / "data").iterdir()):  # the package's data is the repository's data/, byte for byte
            assert archive.read(f"checker/course_data/{path.name}") == path.read_bytes(), f"{path.name} differs"
        # the feedback page's templates, package data that `make grade` needs outside a clone too
        for path in sorted((ROOT / "checker" / "grading" / "templates").rglob("*.j2")):
            name = str(path.relative_to(ROOT))
            assert archive.read(name) == path.read_bytes(), f"{name} differs"
    python_files = {str(p.relative_to(ROOT)) for p in (ROOT / "checker").rglob("*.py")}
    assert python_files - names == set()
    assert not {n for n in names if n.startswith(("tests/", "solutions/", "lessons/", "data/"))}


def test_the_wheel_runs_the_lessons_outside_the_repository(tmp_path, built):
    _, wheel = built

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    (site_packages(venv) / "course_dependencies.pth").write_text(f"import site; site.addsitedir({str(dependencies(wheel))!r})\n")
    python = str(venv / "bin" / "python")
    run(python, "-m", "ipykernel", "install", "--sys-prefix")  # the plain `python3` kernelspec a hub has
    learner = tmp_path / "learner"
    learner.mkdir()

    # Before the checker is installed, the first cell says how to install it, in one sentence; a plain
    # install from the same kernel (as its `%pip install`, with a pip from outside: this venv has none)
    # and the cell run again, without a restart, works, as the sentence promises.
    first = next(c for c in read(LESSONS / LESSONS_RUN[0] / "makemore_atomic_backprop.ipynb").cells if c.cell_type == "code")
    install = (f"import subprocess, sys\nsubprocess.run([{sys.executable!r}, '-m', 'pip', '--python', sys.executable, "
               f"'install', '--quiet', '--no-deps', {str(wheel)!r}], check=True)")
    cells = [nbformat.v4.new_code_cell(first.source), nbformat.v4.new_code_cell(install), nbformat.v4.new_code_cell(first.source)]
    notebook = execute(nbformat.v4.new_notebook(cells=cells), venv, learner)
    [shown] = notebook.cells[0].outputs
    assert shown.output_type == "error" and len(shown.traceback) == 1, shown
    assert shown.traceback == ["".join(message())]
    assert errors(notebook) == ["cell 0: CheckerMissing: " + "".join(message())]
    assert "training examples, a batch of n = 32" in json.dumps(notebook.cells[2].outputs)

    run(sys.executable, "-m", "pip", "--python", python, "check")  # every runtime dependency is there
    found = run(python, "-c", "import checker; print(checker.data_path('names.txt'))", cwd=learner,
                env=kernel_environment(venv)).stdout.strip()
    assert found == str(site_packages(venv) / "checker" / "course_data" / "names.txt")

    for lesson in LESSONS_RUN:
        [path] = (LESSONS / lesson).glob("*.ipynb")
        answered = with_answers(read(path), solutions_by_id(SOLUTIONS / lesson / path.name))
        assert answered.metadata.kernelspec.name == "python3"
        notebook = execute(answered, venv, learner)
        assert errors(notebook) == [], f"{lesson} under the wheel: {errors(notebook)}"
        # the graded checks and the scoreboard in the last cell (other cells show wrong answers on purpose)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        shown = [c.outputs for c in code if nbgrader_meta(c).get("grade")] + [code[-1].outputs]
        scores = re.findall(r"(\d+)/(\d+) correct", json.dumps(shown))
        assert scores and all(a == b for a, b in scores), f"{lesson} under the wheel: {scores}"
        assert f"references computed by PyTorch {torch.__version__}" in json.dumps(code[-1].outputs)
