"""Find the course's `data/` folder from any working directory and load its data sets.

Lessons run from `lessons/<x>/`, `solutions/<x>/`, nbgrader's `autograded/<student>/<x>/` or a
temporary folder, so the folder is looked for in this order:
1. the `BACKPROP_NINJA_DATA` environment variable: if set, only that folder;
2. otherwise `data/` beside this package (the editable install `make` does points here);
3. then `data/` in the working directory or any folder above it.
Every file is checked against its sha256 before use.
"""

import gzip
import hashlib
import os
from functools import cache
from pathlib import Path

import numpy as np

from .errors import CourseDataError

DATA_ENV_VAR = "BACKPROP_NINJA_DATA"

SHA256 = {
    "names.txt": "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
    "digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
}

_RESTORE_HINT = "restore it from the course repository with `git checkout -- data/`"


def _candidate_dirs():
    if os.environ.get(DATA_ENV_VAR):
        yield Path(os.environ[DATA_ENV_VAR])
        return
    yield Path(__file__).resolve().parent.parent / "data"
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        yield folder / "data"


def data_path(filename: str) -> Path:
    """The verified path of one data file, e.g. `data_path("names.txt")`."""
    if filename not in SHA256:
        raise CourseDataError(
            f"There is no course data file called {filename!r}; the files are {', '.join(SHA256)}."
        )
    searched = []
    for folder in _candidate_dirs():
        path = folder / filename
        if path.is_file():
            _verify(path)
            return path
        searched.append(str(folder))
    raise CourseDataError(
        f"The course data file {filename} was not found (looked in {', '.join(dict.fromkeys(searched))}): "
        f"{_RESTORE_HINT}, or set {DATA_ENV_VAR} to the folder that holds it."
    )


@cache
def _verified(path: Path, size: int, mtime_ns: int) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[path.name]:
        raise CourseDataError(
            f"The course data file {path} is damaged (its checksum does not match): {_RESTORE_HINT}."
        )


def _verify(path: Path) -> None:
    stat = path.stat()
    _verified(path, stat.st_size, stat.st_mtime_ns)


def load_names() -> list[str]:
    """The 32,033 makemore names, in file order."""
    return data_path("names.txt").read_text(encoding="utf-8").splitlines()


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 digits: X (1797, 64) float64 in [0, 1] and labels y (1797,) int64."""
    with gzip.open(data_path("digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :64] / 16, table[:, 64].astype(np.int64)
