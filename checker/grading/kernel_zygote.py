"""The zygote of `make grade`'s warm kernels (see warm_kernels.py), run as `python kernel_zygote.py`.

It imports torch and ipykernel once, then forks one kernel per request line on stdin. Only
third-party modules are preloaded, never the checker, and nothing here starts a thread, so a forked
kernel starts from the state a fresh one would (Python's and numpy's random generators are reseeded
after the fork). Only the standard library is imported at top level.
"""

import json
import os
import signal
import sys

# What a course kernel imports anyway: torch, matplotlib's pyplot, and ipykernel itself. Some are
# imported late, and each kernel would pay for them again: the first torch.autograd.grad() imports
# torch.fx's symbolic shapes and sympy (0.4 s), the first torch.testing.assert_close() imports
# torch.distributed.tensor (0.15-0.5 s), and ipykernel imports its debugger, debugpy (0.16 s).
PRELOADED = ("torch", "torch.fx.experimental.symbolic_shapes", "torch.distributed.tensor", "numpy",
             "matplotlib", "matplotlib.pyplot", "matplotlib.backends.backend_agg", "PIL.PngImagePlugin",
             "IPython", "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.pylabtools",
             "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "psutil", "sqlite3")
# matplotlib reads MPLBACKEND only when imported, before any kernel exists: set ipykernel's default
# (figures shown inline) first, and apply the kernel's own choice after the fork. The backend module
# itself is not preloaded: importing it inside the kernel is what hooks it into IPython.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_sandbox = None  # sandbox.py, loaded by serve()


def _reap(signum, frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _become_kernel(request: dict) -> None:
    """In the forked child: become `python -m ipykernel_launcher ...` with the request's cwd and env."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())  # exit if the zygote goes
        _sandbox.from_environment(os.environ, request["argv"])  # before any of the submission runs
        sys.path[0] = os.getcwd()  # as `python -m` sets it for a fresh kernel
        import random

        import numpy

        random.seed()
        numpy.random.seed()
        import matplotlib

        matplotlib.rcParams["backend"] = os.environ.get("MPLBACKEND", INLINE_BACKEND)
        from ipykernel.kernelapp import launch_new_instance

        argv = request["argv"]
        launch_new_instance(argv=argv[argv.index("ipykernel_launcher") + 1:])
        code = 0
    finally:
        os._exit(code)


def _load_sandbox():
    """sandbox.py, beside this file, under a name no notebook imports."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_backprop_ninja_sandbox", os.path.join(sys.path[0], "sandbox.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve() -> None:
    """Preload, then fork one kernel per request line on stdin until stdin closes."""
    import importlib

    global _sandbox
    _sandbox = _load_sandbox()
    del sys.path[0]  # this script's folder, checker/grading: its modules must not shadow others
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for module in PRELOADED:
        importlib.import_module(module)
    import threading

    if threading.active_count() > 1:  # forking a process with threads is unsafe: refuse
        print(json.dumps({"ready": False, "error": f"{threading.active_count()} threads after preloading"}), flush=True)
        return
    signal.signal(signal.SIGCHLD, _reap)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            pid = os.fork()
        except OSError as error:
            print(json.dumps({"error": str(error)}), flush=True)
            continue
        if pid == 0:
            _become_kernel(request)
        print(json.dumps({"pid": pid}), flush=True)


if __name__ == "__main__":
    serve()
