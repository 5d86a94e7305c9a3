# backprop-ninja: every command a learner, instructor or maintainer needs.
# `make lab` and `make test` work on a fresh clone: both create .venv first if needed.

PYTHON3     ?= python3
VENV        := .venv
BIN         := $(abspath $(VENV))/bin
KERNEL      := backprop-ninja
STAMP       := $(VENV)/.installed
# nbgrader runs alembic through PATH, so every tool runs with the venv first on PATH.
RUN         := PATH="$(BIN):$$PATH"
# The lessons ask for the plain `python3` kernel; in JupyterLab it must be this venv's, even where
# JUPYTER_PATH, which Jupyter reads before the venv, holds a stray `python3` kernelspec.
LAB_KERNELS := JUPYTER_PATH="$(abspath $(VENV))/share/jupyter$${JUPYTER_PATH:+:$$JUPYTER_PATH}"
# Where `make lessons` writes; the freshness test points it at a temporary folder.
RELEASE_DIR ?= lessons
GRADEBOOK   ?= sqlite:///gradebook.db
# The folder JupyterLab opens, and extra options, e.g. LAB_ARGS="--no-browser --ServerApp.port=8899".
LAB_DIR     ?= lessons
LAB_ARGS    ?=
# JupyterLab refuses to run as root unless told; this machine's CI runs as root.
ALLOW_ROOT  := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab instructor test e2e mutate dist lessons install-line grade report validate bench bench-grade train venv clean \
	hub hub-setup hub-test hub-clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON3) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 (backprop-ninja)" >/dev/null
	touch $(STAMP)

# The student's JupyterLab: the lessons, the course kernel, nbgrader's Validate button and Assignment
# List, and none of the instructor's tools (jupyter/student/ switches them off).
lab: $(STAMP)
	$(RUN) $(LAB_KERNELS) JUPYTER_CONFIG_DIR="$(abspath jupyter/student)" jupyter lab --notebook-dir="$(LAB_DIR)" \
		--ServerApp.ip=127.0.0.1 $(ALLOW_ROOT) $(LAB_ARGS)

# The instructor's JupyterLab: the course folder, with the Formgrader and Create Assignment.
instructor: $(STAMP)
	$(RUN) $(LAB_KERNELS) jupyter lab --notebook-dir=. --ServerApp.ip=127.0.0.1 $(ALLOW_ROOT) $(LAB_ARGS)

test: $(STAMP)
	$(RUN) python -m pytest

# The student's path in a real browser (e2e/test_browser.py): JupyterLab driven in Debian's
# Chromium by Playwright, which is installed only for this target. Screenshots: e2e/screenshots/.
CHROMIUM    ?= /usr/bin/chromium
E2E_STAMP   := $(VENV)/.installed-e2e
$(E2E_STAMP): $(STAMP) requirements-e2e.txt
	$(BIN)/python -m pip install --quiet -r requirements-e2e.txt
	touch $(E2E_STAMP)

e2e: $(E2E_STAMP)
	@test -x "$(CHROMIUM)" || { echo "make e2e drives Debian's Chromium, and $(CHROMIUM) is not there: install it with 'sudo apt-get install chromium' (or point CHROMIUM= at a Chromium binary)."; exit 1; }
	$(RUN) CHROMIUM="$(CHROMIUM)" python -m pytest -p no:xdist -o addopts="-p no:cacheprovider" e2e/test_browser.py

# Mutation testing of the checker's core (compare.py, diagnose.py) against the fast unit tests, with
# mutmut ([tool.mutmut] in pyproject.toml), installed only for this target. Prints
# `mutants: N killed: K survived: S` and every survivor; fails on one not listed as equivalent.
MUTATE_STAMP := $(VENV)/.installed-mutate
$(MUTATE_STAMP): $(STAMP) requirements-mutate.txt
	$(BIN)/python -m pip install --quiet -r requirements-mutate.txt
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	$(RUN) python bench/mutate.py

# The sdist and the wheel a release publishes (.github/workflows/release.yml builds them the same way),
# from SOURCE into DIST_DIR; `build` is installed on first use (requirements-build.txt).
# BUILD_ARGS e.g. "--no-isolation": build with this venv's setuptools instead of downloading it.
SOURCE     ?= .
DIST_DIR   ?= dist
BUILD_ARGS ?=
BUILD_STAMP := $(VENV)/.installed-build
$(BUILD_STAMP): $(STAMP) requirements-build.txt
	$(BIN)/python -m pip install --quiet -r requirements-build.txt
	touch $(BUILD_STAMP)

dist: $(BUILD_STAMP)
	$(RUN) python -m build $(BUILD_ARGS) --outdir "$(abspath $(DIST_DIR))" "$(SOURCE)"

# The lessons' first cell says how to install the checker (checker/grading/install_line.py): after
# changing what it says, rewrite it in every solution notebook, then run `make lessons`.
install-line: $(STAMP)
	$(RUN) python -m checker.grading.install_line .

lessons: $(STAMP)
	$(RUN) nbgrader generate_assignment --force \
		--CourseDirectory.release_directory="$(RELEASE_DIR)" \
		--CourseDirectory.db_url="$(GRADEBOOK)" "*"

# Autogrades submitted/<student>/<lesson>/, writes feedback/ and grades.csv (see docs/instructors.md).
# COURSE is the nbgrader course folder (this one by default); GRADE_ARGS e.g. "--jobs 2".
COURSE     ?= .
GRADE_ARGS ?=
grade: $(STAMP)
	cd "$(COURSE)" && export $(RUN) && exec python -m checker.grading $(GRADE_ARGS)  # exec: make's own child, which stops when make is killed

# What the class got wrong (report/index.html, report/checks.csv) and grades for Canvas
# (grades_canvas.csv), from the last grading run in COURSE; make grade writes them too.
report: $(STAMP)
	cd "$(COURSE)" && export $(RUN) && exec python -m checker.grading.class_report

# A student's check before handing in: make validate NB=lessons/<lesson>/<notebook>.ipynb
validate: $(STAMP)
	$(RUN) python -m checker.grading.validate "$(NB)"

# Times one Exercise 4 training step three ways, then the lesson's training loop in steps per second
# quiet and beside a busy neighbour; each part's last lines are machine-readable. RECORD=1 writes
# the loop's figures into bench/measured.json, which the README quotes.
RECORD ?=
bench: $(STAMP)
	$(RUN) python bench/training_step.py
	$(RUN) python bench/training_loop.py $(if $(RECORD),--record)

# Times `make grade` on N full Exercise 1 submissions in a scratch course; prints its figures.
N    ?= 100
JOBS ?= 2
bench-grade: $(STAMP)
	$(RUN) python bench/grading.py $(N) --jobs $(JOBS)

# Runs the Exercise 4 solution in full mode (200,000 steps) and reports losses and times;
# NEIGHBOUR=1 keeps one core busy meanwhile, RECORD=1 writes the figures into bench/measured.json.
NEIGHBOUR ?=
train: $(STAMP)
	$(RUN) python bench/full_training.py full_training.ipynb $(if $(NEIGHBOUR),--neighbour) $(if $(RECORD),--record)

# A real JupyterHub class on 127.0.0.1:8010 (docs/instructors.md, "JupyterHub"): as root, it builds the
# users' environment in HUB_VENV from the system's Python (every user must be able to run it), the
# proxy from npm, then hub/admin.py creates the instructor and two students (Unix users, passwords in
# hub/state/users.json), the exchange and the instructor's course; `make hub-clean` removes them.
HUB_VENV    ?= /opt/backprop-ninja/venv
HUB_PYTHON  ?= /usr/bin/python3
HUB_STAMP   := $(HUB_VENV)/.installed
HUB_PROXY   := hub/node_modules/.bin/configurable-http-proxy
HUB_ENV     := PATH="$(HUB_VENV)/bin:$$PATH" BACKPROP_NINJA_HUB_VENV="$(HUB_VENV)"
$(HUB_STAMP): requirements.txt requirements-hub.txt pyproject.toml
	test -x $(HUB_VENV)/bin/python || $(HUB_PYTHON) -m venv $(HUB_VENV)
	$(HUB_VENV)/bin/python -m pip install --quiet -r requirements.txt -r requirements-hub.txt
	$(HUB_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation --force-reinstall .
	$(HUB_VENV)/bin/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 (backprop-ninja)" >/dev/null
	touch $(HUB_STAMP)
$(HUB_PROXY): hub/package.json hub/package-lock.json
	cd hub && npm ci --no-audit --no-fund --loglevel=error
	touch $(HUB_PROXY)
hub-setup: $(HUB_STAMP) $(HUB_PROXY)
	$(HUB_ENV) $(HUB_VENV)/bin/python hub/admin.py setup
hub: hub-setup
	$(HUB_ENV) exec $(HUB_VENV)/bin/jupyterhub -f hub/jupyterhub_config.py
# The class in a real browser (e2e/test_hub.py): release, fetch, answer, submit, collect, grade,
# feedback, for one instructor and two students. Screenshots: e2e/screenshots/hub-*.png.
hub-test: hub-setup $(E2E_STAMP)
	@test -x "$(CHROMIUM)" || { echo "make hub-test drives Debian's Chromium, and $(CHROMIUM) is not there: install it with 'sudo apt-get install chromium'."; exit 1; }
	$(RUN) BACKPROP_NINJA_HUB_VENV="$(HUB_VENV)" CHROMIUM="$(CHROMIUM)" $(BIN)/python -m pytest -p no:xdist -o addopts="-p no:cacheprovider" e2e/test_hub.py
hub-clean:
	$(PYTHON3) hub/admin.py clean

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis mutants dist
