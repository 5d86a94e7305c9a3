"""The guard of a graded kernel: a Python audit hook (PEP 578) that refuses, and records for the
grader, what a learner's code may not do, installed by sandbox.py before a line of the submission
runs. Python code cannot remove an audit hook. Standard library only: it runs before anything else.

    refused while the learner's code is running     frames (sys._getframe, sys._current_frames,
    (a frame of a learner's cell on the stack, or   gi_frame, cr_frame, ag_frame, tb_frame) and code
    a thread a learner's cell started), unless the  objects (__code__, f_code, gi_code ..., new code
    library that asks is one of the few that use    or functions), sys.settrace/setprofile, audit
    it harmlessly (ALLOWED)                         hooks, the garbage collector's object lists,
                                                    ctypes, compile/exec/eval (and IPython's {...}
                                                    expansion in a magic's arguments), imports
                                                    outside the lesson's modules, files outside the
                                                    scratch folder and the course data, processes

A learner's code is what IPython compiled as a cell (any cell but the course's own: locked cells,
checks and their hidden tests, which nbgrader restores from the sources), what IPython compiled on
its behalf (%timeit), and files the learner wrote and imported. A library's own use (IPython showing
a traceback after the cell, torch, typing's TypeVar, namedtuple, dataclasses, a module's code while
it is imported) is not the learner's. GUARD_DEBUG=observe in the grader's environment (maintainers
only) records each refusal with its caller without refusing: how ALLOWED's entries were found. Each refusal raises `Refused` (a RuntimeError) in the learner's code and is
appended, as one JSON line, to the channel: a file the grader made in a folder the sandbox then
hides, opened (append only) before Landlock applies; the hook refuses anything that would truncate,
reopen or rewrite it, and ends the kernel if the channel is gone (closed or replaced), so a refusal
is never lost. The grader reads it (`refusals`), never the kernel.

The policy travels in the kernel's environment (POLICY_ENV_VAR), set by CourseExecute.
"""

import json
import os
import sys

POLICY_ENV_VAR = "BACKPROP_NINJA_GUARD"
# What a learner's cell may import. What a module could do beyond that (a process, a file outside the
# scratch folder, ctypes, exec) is refused by its own audit event, so ordinary modules are here:
# saving a log with os, pathlib, csv, json or tempfile is a learner's right, not a cheat.
MODULES = ("torch", "math", "numpy", "random", "itertools", "functools", "collections", "matplotlib", "typing",
           "dataclasses", "enum", "time", "__future__", "tqdm", "checker", "IPython.display",
           "os", "pathlib", "csv", "json", "tempfile", "shutil", "datetime", "statistics", "string", "re", "copy",
           "operator", "heapq", "bisect", "pprint", "textwrap", "fractions", "decimal", "contextlib", "warnings",
           "timeit", "glob", "io")
# What unpickling may build (np.load(allow_pickle=True), pickle.load, torch.load(weights_only=False)):
# data, never a function a learner could not name in a cell (the checker's autograd helpers,
# torch.autograd, exec). (module, name); a name of "*": any name without a dot.
PICKLE_DATA = {("builtins", n) for n in ("list", "dict", "set", "frozenset", "tuple", "bytearray", "bytes", "str",
                                         "int", "float", "complex", "bool", "slice", "range", "object")} | \
    {("collections", n) for n in ("OrderedDict", "defaultdict", "Counter", "deque")} | \
    {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")} | \
    {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.dtypes", "*"), ("copyreg", "_reconstructor"), ("_codecs", "encode"),
     ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_parameter"),
     ("torch.nn.parameter", "Parameter"), ("torch.storage", "UntypedStorage"), ("torch.storage", "TypedStorage"),
     ("torch._tensor", "_rebuild_from_type_v2"), ("torch", "Size"), ("torch", "device"), ("torch", "dtype")} | \
    {("torch", f"{kind}Storage") for kind in ("Float", "Double", "Long", "Int", "Bool", "Byte", "Half", "BFloat16")} | \
    {("torch", t) for t in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool")}

# Who may use what while a learner's code is on the stack: the code that asks, as (end of its file's
# path, function), optionally followed by the code that called it. Each was seen running the
# lessons' solutions; none hands a frame, a code object or compiled code back to the learner.
ALLOWED = {
    "frame": {
        (("/typing.py", "_caller"),), (("/enum.py", "_missing_"),), (("/enum.py", "_create_"), ("/enum.py", "__call__")),
        (("/collections/__init__.py", "namedtuple"),),
        (("/IPython/core/magic.py", "parse_options"), ("/IPython/core/magics/execution.py", "timeit")),
        (("/typing_extensions.py", "_caller"),), (("/typing_extensions.py", "_has_generic_or_protocol_as_origin"),),
        (("/IPython/core/interactiveshell.py", "var_expand"),),
        (("/IPython/core/interactiveshell.py", "get_local_scope"),),
        (("/ipywidgets/widgets/utils.py", "_get_frame"), ("/ipywidgets/widgets/utils.py", "deprecation")),
        (("/torch/library.py", "__init__"),), (("/torch/library.py", "_register_fake"),),
        (("/torch/_library/utils.py", "get_source"),),
    },
    "code": {
        (("/IPython/core/magic.py", "parse_options"), ("/IPython/core/magics/execution.py", "timeit")),
        (("/inspect.py", "_has_code_flag"),), (("/inspect.py", "getfile"),), (("/inspect.py", "findsource"),),
        (("/inspect.py", "getframeinfo"),), (("/inspect.py", "_signature_from_function"),),
        (("/typing.py", "overload"),), (("/numpy/_utils/_inspect.py", "getargspec"),),
        (("/torch/library.py", "__init__"),), (("/torch/fx/_symbolic_trace.py", "wrap"),),
        (("/ipywidgets/widgets/widget.py", "_active_widgets"),), (("/ipywidgets/widgets/widget.py", "_widget_types"),),
        (("/ipywidgets/widgets/widget.py", "widget_types"),), (("/ipywidgets/widgets/widget.py", "widgets"),),
    },
    "exec": {
        (("/collections/__init__.py", "namedtuple"),), (("/dataclasses.py", "_create_fn"),), (("/ast.py", "parse"),),
        (("/typing.py", "__init__"),), (("/typing.py", "_make_nmtuple"),),
        (("<frozen importlib._bootstrap>", "_call_with_frames_removed"),),
        (("<frozen importlib._bootstrap_external>", "source_to_code"),),
    },
}
# What IPython compiles and runs for %timeit and %time: (file, function) anywhere between the learner's frame
# and the compile or exec; what it compiles is the learner's code from then on.
ALLOWED_BETWEEN = {"exec": {("/IPython/core/magics/execution.py", "timeit"), ("/IPython/core/magics/execution.py", "time")},
                   # pyparsing (matplotlib's mathtext) reads its own call site and tracebacks
                   "frame": {("/pyparsing/core.py", "*")}, "code": {("/pyparsing/core.py", "*")}}

_FRAME_ATTRIBUTES = {"gi_frame", "cr_frame", "ag_frame", "tb_frame"}
_CODE_ATTRIBUTES = {"__code__", "f_code", "gi_code", "cr_code", "ag_code"}
_PATH_EVENTS = {"open": 0, "os.listdir": 0, "os.scandir": 0, "os.remove": 0, "os.rename": 0, "os.mkdir": 0,
                "os.rmdir": 0, "os.chmod": 0, "os.chown": 0, "os.link": 0, "os.symlink": 0, "os.utime": 0,
                "os.truncate": 0, "os.chdir": 0, "os.chflags": 0, "os.lchflags": 0, "os.setxattr": 0,
                "os.removexattr": 0, "os.listxattr": 0, "os.getxattr": 0, "shutil.copyfile": 0,
                "shutil.copymode": 0, "shutil.copystat": 0, "shutil.copytree": 0, "shutil.move": 0,
                "shutil.rmtree": 0, "shutil.chown": 0, "shutil.make_archive": 0, "shutil.unpack_archive": 0,
                "glob.glob": 0, "tempfile.mkstemp": 0, "tempfile.mkdtemp": 0, "fcntl.fcntl": 0,
                "fcntl.ioctl": 0, "fcntl.flock": 0, "fcntl.lockf": 0, "mmap.__new__": 0}
_KINDS = {
    "sys._getframe": "frame", "sys._current_frames": "frame", "code.__new__": "code", "function.__new__": "code",
    "compile": "exec", "exec": "exec", "import": "import", "backprop_ninja.import": "import",
    "gc.get_objects": "gc", "gc.get_referrers": "gc", "gc.get_referents": "gc",
    "sys.settrace": "trace", "sys.setprofile": "trace", "sys.addaudithook": "hook",
    "os.system": "process", "os.exec": "process", "os.posix_spawn": "process", "os.spawn": "process",
    "os.fork": "process", "os.forkpty": "process", "subprocess.Popen": "process", "os.kill": "process",
    "os.killpg": "process", "pty.spawn": "process", "os.startfile": "process", "os.putenv": "process",
    "os.unsetenv": "process", "signal.pthread_kill": "process", "pickle.find_class": "pickle",
    **dict.fromkeys(_PATH_EVENTS, "file"),
    **dict.fromkeys(("ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.addressof", "ctypes.cdata",
                     "ctypes.cdata/buffer", "ctypes.create_string_buffer", "ctypes.create_unicode_buffer",
                     "ctypes.get_errno", "ctypes.set_errno", "ctypes.set_exception", "ctypes.string_at",
                     "ctypes.wstring_at", "ctypes.call_function", "ctypes.PyObj_FromPtr",
                     "ctypes.get_last_error", "ctypes.set_last_error"), "ctypes"),
}
_WHAT = {"frame": "read a frame of the running program", "code": "read or make a code object",
         "exec": "compile or run code that is not one of the notebook's cells",
         "import": "import a module outside the lesson's modules", "gc": "list the garbage collector's objects",
         "ctypes": "use ctypes", "file": "touch a file outside its scratch folder and the course data",
         "process": "start, signal or change processes or their environment", "trace": "trace the interpreter",
         "hook": "add an audit hook", "pickle": "unpickle a function or class that is not data"}
# (Python's attribute audit event: only the ones read as frames or code objects matter)
_KINDS["object.__getattr__"] = "attribute"
# Opened by the import machinery and the libraries while a learner's cell runs (a .pyc, a font):
# files of Python's own installation, the checker and these, never the grader's course.
_LIBRARY_FILES = ("/dev/null", "/proc/self/", "/sys/devices/system/cpu/", "/etc/localtime", "/etc/fonts/", "/usr/share/")


class Refused(RuntimeError):
    """What the grader's guard refused; the grader records it."""


_DEBUG = os.environ.get("GUARD_DEBUG")
_state = None  # the installed policy's state; only the hook and the import below reach it


def open_channel(policy: dict) -> int:
    """The channel's file descriptor, append only: opened before Landlock hides its folder."""
    return os.open(policy["channel"], os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)


def install(policy: dict, fd: int) -> None:
    """In a graded kernel, before any of the submission runs: install the audit hook and the import
    check, recording into the channel `fd` (open_channel). Cannot be undone."""
    global _state, _sha256
    import _thread
    import builtins
    from hashlib import sha256 as _sha256

    info = os.fstat(fd)
    prefixes = tuple(os.path.join(os.path.realpath(p), "") for p in policy["readable"])
    _state = {
        "fd": fd, "id": (info.st_dev, info.st_ino), "trusted": frozenset(policy["trusted"]),
        "scratch": tuple(os.path.join(os.path.realpath(p), "") for p in policy["scratch"]),
        "library": prefixes + _LIBRARY_FILES, "python": prefixes, "modules": tuple(policy["modules"]),
        "learner": set(), "hidden": set(), "files": {}, "sources": {}, "cell": 0, "cell_of": {},
        "threads": None, "busy": set(), "ident": _thread.get_ident, "getframe": sys._getframe,
        "current_frames": sys._current_frames,
    }
    # `import os` of a module already loaded raises no audit event: builtins.__import__ raises ours
    # first. Its globals hold nothing of the guard (sys.audit, the original __import__, and builtins,
    # which C code importing from inside it needs: PyImport_Import finds __import__ there).
    source = ("def __import__(name, globals=None, locals=None, fromlist=(), level=0):\n"
              "    _audit('backprop_ninja.import', name, level)\n"
              "    return _import(name, globals, locals, fromlist, level)\n")
    namespace = {"_audit": sys.audit, "_import": builtins.__import__, "__builtins__": builtins}
    exec(compile(source, __file__, "exec"), namespace)
    builtins.__import__ = namespace["__import__"]
    sys.addaudithook(_hook)


def _hook(event, args):
    kind = _KINDS.get(event)
    if kind is None:
        return
    state = _state
    ident = state["ident"]()
    busy = state["busy"]
    if ident in busy:
        return
    busy.add(ident)
    try:
        _check(state, event, kind, args, ident)
    finally:
        busy.discard(ident)


def _check(state, event, kind, args, ident):
    if kind == "attribute":
        name = args[1]
        if name in _FRAME_ATTRIBUTES:
            kind = "frame"
        elif name in _CODE_ATTRIBUTES:
            kind = "code"
        else:
            return
    if kind == "file":
        _protect_channel(state, event, args)
    frame = state["getframe"](2)  # _check, _hook, then the code the event is about
    if kind == "hook":
        _refuse(state, event, "sys.addaudithook", kind, _learner_frame(state, frame) or frame)
    if kind == "pickle":  # whoever unpickles (a finalizer may run it with no learner's frame on the stack)
        module, name = args[0], args[1]
        if (module, name) not in PICKLE_DATA and not ((module, "*") in PICKLE_DATA and "." not in name):
            _refuse(state, event, f"{module}.{name}", kind, _learner_frame(state, frame) or frame)
        return
    if event == "compile" and frame.f_code.co_name == "ast_parse" and \
            frame.f_code.co_filename.endswith("/IPython/core/compilerop.py") and _is_new_cell(state, frame):
        _new_cell(state, args)
        return
    if event == "backprop_ninja.import" and frame.f_back is not None and \
            not _learner_file(state, frame.f_back.f_code.co_filename) and \
            frame.f_back.f_code.co_filename.startswith(state["python"] + ("<frozen ",)):
        return  # a library importing (the fast way out: every `import` statement comes here)
    learner = _learner_frame(state, frame)
    if learner is None and ident not in (state["threads"] or (ident,)):
        learner = frame  # a thread a learner's cell started: all of it is the learner's
    if learner is None and kind in ("exec", "process", "gc", "ctypes") and _called_back(frame):
        learner = frame  # a callback the learner registered with IPython (post_execute ...)
    if learner is None or _importing(frame, learner):
        return
    if kind == "file":
        if _file_allowed(state, event, args, frame is learner):
            return
    elif kind == "import":
        if _import_allowed(state, event, args, frame, learner):
            return
    elif _allowed(state, kind, args, frame, learner):
        return
    _refuse(state, event, _detail(event, args), kind, learner)


def _allowed(state, kind, args, frame, learner) -> bool:
    for chain in ALLOWED.get(kind, ()):
        f = frame
        for suffix, name in chain:
            if f is None or f is learner or f.f_code.co_name != name or not f.f_code.co_filename.endswith(suffix):
                break
            f = f.f_back
        else:
            return True
    between = ALLOWED_BETWEEN.get(kind, ())
    f = frame
    while between and f is not None and f is not learner:
        code = f.f_code
        for suffix, name in between:
            if (code.co_name == name or name == "*") and code.co_filename.endswith(suffix):
                if kind == "exec":
                    _mark_learner(state, args)
                return True
        f = f.f_back
    return False


_RUN_CELL = {"run_cell_async", "_pseudo_sync_runner", "_run_cell", "run_cell"}


def _importing(frame, learner) -> bool:
    """Is a library module's own code running, imported by an import the guard let through?"""
    while frame is not None and frame is not learner:
        code = frame.f_code
        if code.co_name == "_load_unlocked" and code.co_filename == "<frozen importlib._bootstrap>":
            return True
        frame = frame.f_back
    return False


def _is_new_cell(state, frame) -> bool:
    """IPython parsing a cell the kernel was asked to run: its run_cell called by ipykernel's
    do_execute itself (not by learner's code, nor by a callback), in the kernel's main thread."""
    if state["threads"] is not None and state["ident"]() != state["threads"][0]:
        return False
    f = frame.f_back
    for _ in range(8):
        if f is None:
            return False
        code = f.f_code
        if code.co_name == "do_execute" and code.co_filename.endswith("/ipykernel/ipkernel.py"):
            return True
        if code.co_name not in _RUN_CELL or not ("/IPython/core/" in code.co_filename or
                                                 "/ipykernel/" in code.co_filename):
            return False
        f = f.f_back
    return False


def _called_back(frame) -> bool:
    """Is IPython calling back what was registered with its events (pre/post_execute ...)?"""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "trigger" and code.co_filename.endswith("/IPython/core/events.py"):
            return True
        frame = frame.f_back
    return False


def _new_cell(state, args):
    source, filename = args[0], args[1]
    if state["threads"] is None:  # the kernel's own threads, started before the first cell
        state["threads"] = (state["ident"](), *(i for i in state["current_frames"]() if i != state["ident"]()))
    state["cell"] += 1
    if isinstance(source, bytes):
        source = source.decode(errors="replace")
    hidden = isinstance(source, str) and _sha256(source.strip().encode()).hexdigest() in state["trusted"]
    (state["hidden"] if hidden else state["learner"]).add(filename)
    (state["learner"] if hidden else state["hidden"]).discard(filename)
    if isinstance(source, str):
        state["sources"][filename] = source.splitlines()
    state["cell_of"][filename] = state["cell"]  # which cell's code this file holds


def _mark_learner(state, args):
    """Code compiled or run on a learner's behalf (%timeit's) is the learner's too."""
    code = args[0]
    filename = getattr(code, "co_filename", None) if not isinstance(code, (str, bytes)) else None
    if filename is None and len(args) > 1 and isinstance(args[1], str):
        filename = args[1]  # compile(source, filename)
    if filename and filename not in state["hidden"] and not filename.startswith("<frozen ") and \
            not filename.startswith("/"):
        state["learner"].add(filename)


def _learner_frame(state, frame):
    """The innermost frame of a learner's code on this thread's stack, or None: a cell's, what
    IPython compiled for a cell (%timeit), or a file outside Python's installation and the checker
    (one the learner wrote in the scratch folder and imported)."""
    while frame is not None:
        if _learner_file(state, frame.f_code.co_filename):
            return frame
        frame = frame.f_back
    return None


def _learner_file(state, filename) -> bool:
    if filename in state["learner"]:
        return True
    files = state["files"]
    mine = files.get(filename)
    if mine is None:
        mine = files[filename] = filename.startswith("/") and not filename.startswith(state["python"])
    return mine and filename not in state["hidden"]


def _path(value) -> str | None:
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if isinstance(value, str):
        return os.path.abspath(value)
    if hasattr(value, "__fspath__"):
        return _path(os.fspath(value))
    return None


def _protect_channel(state, event, args):
    """Nobody, library or learner, truncates, re-opens, maps or reconfigures the channel's file."""
    if args and args[0] == state["fd"] and isinstance(args[0], int) and not isinstance(args[0], bool):
        frame = state["getframe"](3)
        _refuse(state, event, f"the grader's record (file descriptor {state['fd']})", "file",
                _learner_frame(state, frame) or frame)


def _file_allowed(state, event, args, learner_asks) -> bool:
    if event in ("fcntl.fcntl", "fcntl.ioctl", "fcntl.flock", "fcntl.lockf", "mmap.__new__", "os.truncate") \
            and args and isinstance(args[0], int):
        return True  # on a file descriptor already open (the channel's is refused above)
    if event == "open" and args and isinstance(args[0], int):
        return True
    paths = [_path(a) for a in args[:2 if event in ("os.rename", "os.link", "os.symlink", "shutil.copyfile",
                                                      "shutil.copytree", "shutil.move") else 1]]
    if event in ("os.listdir", "os.scandir") and args and args[0] is None:
        paths = [os.getcwd()]
    for path in paths:
        if path is None:
            continue
        inside = (path + "/").startswith(state["scratch"])
        if not inside and not learner_asks:
            inside = path.startswith(state["library"]) or (path + "/").startswith(state["library"])
        if not inside:
            return False
    return True


def _import_allowed(state, event, args, frame, learner) -> bool:
    name = args[0]
    if event == "backprop_ninja.import":
        if args[1]:  # a relative import: only a package's own modules do those
            return frame.f_back is not None and frame.f_back is not learner
        frame = frame.f_back  # the code that ran `import`, not our __import__
        if frame is not learner and frame.f_code.co_filename.startswith(state["python"] + ("<frozen ",)):
            return True  # a library importing; an import not loaded yet raises "import" too
    elif frame is not learner:
        # a module not loaded yet: a library may load what it needs, unless it is the import
        # machinery itself, asked by the learner (importlib.import_module('os'))
        f = frame
        while f is not None and f is not learner and (f.f_code.co_filename.startswith("<frozen importlib") or
                                                        "/importlib/" in f.f_code.co_filename or
                                                        f.f_code.co_filename == __file__):
            f = f.f_back
        if f is not learner and f.f_code.co_filename.startswith(state["python"]):
            return True
    if not isinstance(name, str):
        return False
    return any(name == m or name.startswith(m + ".") for m in state["modules"])


def _detail(event, args) -> str:
    if event == "object.__getattr__":
        return f"{type(args[0]).__name__}.{args[1]}"
    if event in ("import", "backprop_ninja.import"):
        return str(args[0])
    if event in ("compile",):
        source = args[0]
        text = source if isinstance(source, str) else source.decode(errors="replace") \
            if isinstance(source, bytes) else type(source).__name__
        return text[:200]
    if event == "exec":
        return getattr(args[0], "co_name", type(args[0]).__name__)
    if args and not isinstance(args[0], (int, type(None))):
        return str(_path(args[0]) or type(args[0]).__name__)[:200]
    return event


def _refuse(state, event, detail, kind, learner):
    filename = learner.f_code.co_filename
    line = learner.f_lineno
    lines = state["sources"].get(filename)
    # `cell` ran when it was refused; `defined_in` holds the code refused (a learner's function that a
    # course cell called is the learner's cell's doing)
    record = {"event": event, "detail": detail, "cell": state["cell"], "defined_in": state["cell_of"].get(filename),
              "line": line,
              "source": lines[line - 1].strip() if lines and 0 < line <= len(lines) else ""}
    if _DEBUG:
        f = state["getframe"](3)
        record["caller"] = f"{f.f_code.co_filename}:{f.f_code.co_name} < {f.f_back.f_code.co_filename}:{f.f_back.f_code.co_name}"
    _write(state, record)
    if _DEBUG == "observe":
        return
    raise Refused(f"The grader's guard refused this: graded code may not {_WHAT[kind]} ({event}: {detail}), "
                  "and the grader records that it was tried.")


def _write(state, record):
    data = ("\n" + json.dumps(record) + "\n").encode()
    fd = state["fd"]
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != state["id"]:
            raise OSError("the guard's channel was replaced")
        os.write(fd, data)
    except OSError:
        os._exit(70)  # the channel is gone: the kernel ends rather than run unrecorded


def policy(channel: str, scratch: list[str], readable: list[str], course_cells: list[str], modules=MODULES) -> dict:
    """The guard's policy, for POLICY_ENV_VAR: the channel file (made by the grader), the folders a
    learner's code may use files in, the folders Python and its libraries are in, and the course's
    own cells (nbgrader restores them from the sources: locked cells, checks and their hidden tests),
    which are not the learner's."""
    return {"channel": channel, "scratch": list(scratch), "readable": list(readable), "modules": list(modules),
            "trusted": sorted({cell_digest(source) for source in course_cells})}


def cell_digest(source: str) -> str:
    """How the guard knows a cell IPython compiles is one of the course's."""
    import hashlib

    return hashlib.sha256(source.strip().encode()).hexdigest()


def refusals(path) -> list[dict]:
    """What the guard refused in one graded kernel, read by the grader from the channel after the
    notebook ran: one dict per refusal, {"event", "detail", "cell" (the execution count of the cell
    that was running), "line" (in the learner's code), "source" (that line)}. A line the guard did not
    write (the learner wrote to the channel) is a refusal too, event "guard.channel"."""
    found = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return found
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            if not isinstance(record, dict) or not {"event", "detail", "cell", "line", "source"} <= set(record):
                raise ValueError
        except ValueError:
            record = {"event": "guard.channel", "detail": "a line the guard did not write: "
                      + raw[:200].decode(errors="replace"), "cell": None, "line": None, "source": ""}
        found.append(record)
    return found
