"""What a lesson reads from the environment: its seed, and whether to run briefly (fast mode).

`make grade` sets BACKPROP_NINJA_SEED, so a lesson's setup cell draws different inputs when graded
and numbers copied from the learner's own run fail. Tests and grading set BACKPROP_NINJA_FAST, so
training cells run a short version.
"""

import os

import torch

SEED_ENV_VAR = "BACKPROP_NINJA_SEED"
DEFAULT_SEED = 2147483647  # the seed of the original lecture
# Set in every graded kernel, where the grader decides: the learner's own rule check stays quiet
# (the grader scans the submitted notebook, checker/grading/preprocessors.py) and a failing visible
# check does not raise, so the hidden test after it always runs. Setting it in one's own kernel
# only mutes one's own warnings.
GRADED_ENV_VAR = "BACKPROP_NINJA_GRADED"


def graded() -> bool:
    return os.environ.get(GRADED_ENV_VAR) == "1"


def seed_from_env() -> int:
    """The seed a lesson uses: `BACKPROP_NINJA_SEED` if set (the grader sets its own), else the lecture's."""
    value = os.environ.get(SEED_ENV_VAR, "").strip()
    return int(value) if value else DEFAULT_SEED


def generator(seed: int | None = None) -> torch.Generator:
    """A `torch.Generator` seeded with `seed`, or with `seed_from_env()` when no seed is given."""
    return torch.Generator().manual_seed(seed_from_env() if seed is None else seed)


FAST_ENV_VAR = "BACKPROP_NINJA_FAST"
# Set by nbgrader while it validates a notebook (JupyterLab's Validate button, `make validate`): its
# kernel inherits it. Validating trains briefly, as grading does.
VALIDATING_ENV_VAR = "NBGRADER_VALIDATING"
# Set by the course's nbgrader configuration with `Validator.validate_all`, which makes Validate list a
# failing course cell such as the scoreboard. Only then do the checks leave it to the scoreboard to
# fail once, with "n/26 correct" and the steps not yet right (report.validated): under a
# configuration without it, each check fails on its own, and a blank lesson never validates.
SCOREBOARD_VALIDATES_ENV_VAR = "BACKPROP_NINJA_VALIDATE_ALL"


def nbgrader_validating() -> bool:
    return os.environ.get(VALIDATING_ENV_VAR) == "1"


def validating() -> bool:
    """nbgrader validates, and lists the scoreboard's failure (see SCOREBOARD_VALIDATES_ENV_VAR)."""
    return nbgrader_validating() and os.environ.get(SCOREBOARD_VALIDATES_ENV_VAR) == "1"


def fast_mode() -> bool:
    """True when `BACKPROP_NINJA_FAST` is set to anything but '' or '0' (train briefly, for CI), and
    while nbgrader validates (grading trains briefly too)."""
    return os.environ.get(FAST_ENV_VAR, "").strip() not in ("", "0") or nbgrader_validating()


def use_one_thread() -> None:
    """PyTorch on one intra-op thread, unless OMP_NUM_THREADS says otherwise. The course's tensors are
    tiny: a second thread mostly waits for the first, and when another program keeps a core busy it
    waits for a turn on it, making each step many times slower (`make bench` measures it). A learner
    can undo it with `torch.set_num_threads(n)`."""
    if not os.environ.get("OMP_NUM_THREADS", "").strip():
        torch.set_num_threads(1)
