"""Builds the checker with the course's data inside it, as `checker/course_data/`.

The repository's `data/` stays the one copy in git: every build (`pip wheel .`, `pip install` of the
repository's git URL, a wheel made from the sdist) copies it into the package, so an installed checker
finds its data without the repository and the copy cannot drift from it. The editable install
`make` does copies nothing: checker/data.py reads `data/` beside the package there.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = Path(__file__).resolve().parent / "data"


class BuildWithCourseData(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return
        files = sorted(p for p in DATA.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise SystemExit(f"The course data folder {DATA} is empty or missing: the checker cannot be built without it.")
        target = Path(self.build_lib) / "checker" / "course_data"
        self.mkpath(str(target))
        for path in files:
            self.copy_file(str(path), str(target / path.name))


setup(cmdclass={"build_py": BuildWithCourseData})
