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


def fast_mode() -> bool:
    """True when `BACKPROP_NINJA_FAST` is set to anything but '' or '0': train briefly, for CI."""
    return os.environ.get(FAST_ENV_VAR, "").strip() not in ("", "0")
