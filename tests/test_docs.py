"""The README is the learner's page; docs/instructors.md and docs/maintainers.md hold the rest. Links
between them reach a file and a heading that exist, the README keeps what a learner must read, and
what it says of Binder is what binder/ holds."""

import os
import re
import tomllib

import pytest

from course import ROOT

README = ROOT / "README.md"
PAGES = [README, ROOT / "docs" / "instructors.md", ROOT / "docs" / "maintainers.md"]


def prose(page) -> str:
    """The page without its fenced code blocks, where `#` starts a comment, not a heading."""
    return re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)


def anchors(page) -> set[str]:
    """GitHub's anchor for each heading: lower case, punctuation but hyphens dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", prose(page), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_between_the_pages_reaches_a_file_and_a_heading(page):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(page)):
        if re.match(r"[a-z]+:", target):  # the web: not this repository's to check
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and anchor not in anchors(linked)):
            broken.append(target)
    assert broken == []


def test_the_readme_is_the_learners_page_and_links_the_others():
    text = README.read_text()
    commands = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1)
    assert [line.split("#")[0].strip() for line in commands.splitlines()] == ["make lab", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()  # the README's test command is what CI runs
    assert "](docs/instructors.md)" in text and "](docs/maintainers.md)" in text
    # what a learner must read stays here: the lessons, a check's row, hints, the rules that cost points
    assert {"the-lessons", "how-a-lesson-works", "where-to-run-it"} <= anchors(README)
    for needed in ("✓ dhpreact   correct", 'ex.hint("dX")', "**The rules of an answer.**", "make validate NB="):
        assert needed in text


def binder_bullet() -> str:
    text = README.read_text()
    start = text.index("- **Binder**")
    end = text.find("\n\n", start)
    return text[start:end if end != -1 else len(text)]


def pins(path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_what_the_readme_says_of_binder_is_what_binder_holds():
    said = binder_bullet()
    quoted = re.findall(r"`([^`]+)`", said)
    binder = ROOT / "binder"
    assert sorted(q for q in quoted if q.startswith("binder/") and q != "binder/") == sorted(f"binder/{p.name}" for p in binder.iterdir())

    # "asks for Python 3.11": the oldest Python the package allows
    assert "Python 3.11" in said and (binder / "runtime.txt").read_text().strip() == "python-3.11"
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"] == ">=3.11"

    # torch from PyTorch's CPU index, the version requirements.txt pins; every other pin as it is
    lines = pins(binder / "requirements.txt")
    [index] = [q for q in quoted if q.startswith("--extra-index-url ")]
    [torch] = [q for q in quoted if q.startswith("torch==")]
    assert index in lines and torch in lines and torch.endswith("+cpu")
    ours = pins(ROOT / "requirements.txt")
    assert torch.removesuffix("+cpu") in ours
    assert sorted(set(lines) - {index, torch}) == sorted(set(ours) - {torch.removesuffix("+cpu")})

    # postBuild: the install the README quotes, and the course kernel under its name and display name
    post_build = binder / "postBuild"
    assert os.access(post_build, os.X_OK) and post_build.read_text().startswith("#!")
    [install] = [q for q in quoted if q.startswith("pip install")]
    assert install in post_build.read_text().splitlines()
    kernel = re.search(r"^KERNEL\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), flags=re.M).group(1)
    display = next(q for q in quoted if q.startswith("Python 3 ("))
    assert f'--name {kernel} --display-name "{display}"' in post_build.read_text()
