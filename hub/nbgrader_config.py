"""nbgrader configuration for the students' servers on JupyterHub: the course id and the exchange.

The administrator copies this file, under the same name, into a folder of every student server's
Jupyter config path (`jupyter --paths`, "config"): `/etc/jupyter/nbgrader_config.py` for the whole
machine or image, or `<sys.prefix>/etc/jupyter/nbgrader_config.py` for the one environment that
runs the servers. Students then fetch and submit with no `--course` or `--Exchange.root`.
The instructor's course folder keeps its own nbgrader_config.py (the repository's), read after this
one: the instructor's server needs BACKPROP_NINJA_EXCHANGE set to the shared exchange.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "backprop-ninja"
# Validate lists the lesson's scoreboard ("n/26 correct", a line per step not yet right), which is a
# course cell, not a graded one (the repository's nbgrader_config.py says more).
c.Validator.validate_all = True
os.environ["BACKPROP_NINJA_VALIDATE_ALL"] = "1"  # the kernel's cue (checker/environment.py)
# nbgrader's usual shared exchange; it must exist, writable by every user (docs/instructors.md, "JupyterHub").
c.Exchange.root = os.environ.get("BACKPROP_NINJA_EXCHANGE") or "/usr/local/share/nbgrader/exchange"
