"""`python -m checker.grading` is `make grade`: see run.py."""

import sys

from .run import main

sys.exit(main())
