"""The sandbox of a graded kernel, applied inside the kernel's own process before it runs a line of
the submission (kernel_zygote.py for warm kernels; `python sandbox.py <kernel command>` for cold
ones). Standard library only: it runs before anything else is imported.

    files     Landlock: read and execute everywhere except the course folder; inside it only the
              checker, the data and the virtualenv can be read; write only in the kernel's own
              scratch folder (its autograded notebook's folder) and /dev/null
    network   Landlock (ABI 4+): no TCP connection out, TCP bind only on the kernel's own ports
    signals   Landlock (ABI 6+): no signal to a process outside the sandbox, no abstract Unix socket
    limits    memory (address space), size of a file written, number of processes, no core dumps

What Landlock cannot express is said in the README (UDP, reading the grader's home folder).
The policy travels in the kernel's environment (POLICY_ENV_VAR), set by CourseExecute.
"""

import ctypes
import json
import os
import resource
import sys

POLICY_ENV_VAR = "BACKPROP_NINJA_SANDBOX"

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # the same on x86_64 and arm64
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_ABI1 = (1 << 13) - 1  # execute .. make_sym
_FS_BY_ABI = {1: _FS_ABI1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # truncate, ioctl_dev
READ = EXECUTE | READ_FILE | READ_DIR
BIND_TCP, CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPort(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(number, *args) -> int:
    result = _libc.syscall(number, *args)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers, 0 if none (or it is disabled)."""
    try:
        return _syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except OSError:
        return 0


def missing() -> str:
    """'' if grading kernels can be sandboxed here, else a sentence saying what is missing."""
    abi = landlock_abi()
    if not abi:
        return ("this Linux kernel has no Landlock (it needs Linux 5.13 or newer with Landlock enabled, "
                "e.g. lsm=landlock,... on the kernel command line)")
    return ""


def policy(scratch: str, hidden: str, readable_inside: list[str], memory_mb: int, file_mb: int,
           processes: int) -> dict:
    return {"scratch": scratch, "hidden": hidden, "readable_inside": readable_inside,
            "memory_mb": memory_mb, "file_mb": file_mb, "processes": processes}


def _readable_outside(hidden: str) -> list[str]:
    """Every path beside the way down to `hidden`: all of the file system but that folder. A link
    that leads into `hidden`, or to a folder around it, is left out (a rule follows links)."""
    hidden = os.path.realpath(hidden)
    paths, here = [], "/"
    for part in [p for p in hidden.split("/") if p]:
        try:
            names = os.listdir(here)
        except OSError:
            names = []
        for name in names:
            target = os.path.realpath(os.path.join(here, name))
            if name != part and os.path.commonpath([target, hidden]) not in (target, hidden):
                paths.append(os.path.join(here, name))
        here = os.path.join(here, part)
    return paths


def _add_path(ruleset: int, path: str, access: int, handled: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # gone, or a dangling link: nothing to grant
    try:
        if not os.path.isdir(path):
            access &= _FILE_RIGHTS
        rule = _PathBeneath(access & handled, fd)
        _syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule),
                 ctypes.c_uint32(0))
    finally:
        os.close(fd)


def _kernel_ports(argv: list[str]) -> list[int]:
    """The ports in the connection file of `... -f <file>`: the only ones the kernel may bind."""
    if "-f" not in argv:
        return []
    with open(argv[argv.index("-f") + 1]) as f:
        info = json.load(f)
    return [int(info[k]) for k in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port") if k in info]


def apply(rules: dict, kernel_argv: list[str]) -> None:
    """Sandbox this process and everything it starts; raises OSError if that is not possible."""
    abi = landlock_abi()
    if not abi:
        raise OSError(missing())
    ports = _kernel_ports(kernel_argv)  # read before the connection file's folder is out of reach
    handled_fs = _FS_BY_ABI.get(abi, _FS_BY_ABI[5])
    attr = _RulesetAttr(handled_fs, BIND_TCP | CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for path in _readable_outside(rules["hidden"]) + list(rules["readable_inside"]):
            _add_path(ruleset, path, READ, handled_fs)
        _add_path(ruleset, rules["scratch"], handled_fs, handled_fs)
        _add_path(ruleset, os.devnull, READ_FILE | WRITE_FILE, handled_fs)
        if abi >= 4:
            for port in ports:
                rule = _NetPort(BIND_TCP, port)
                _syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_NET_PORT), ctypes.byref(rule),
                         ctypes.c_uint32(0))
        _limit(rules)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        _syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)


def _limit(rules: dict) -> None:
    megabyte = 1 << 20
    for limit, value in ((resource.RLIMIT_AS, rules["memory_mb"] * megabyte),
                         (resource.RLIMIT_FSIZE, rules["file_mb"] * megabyte),
                         (resource.RLIMIT_NPROC, rules["processes"]),  # not enforced for root
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))


def from_environment(env: dict, kernel_argv: list[str]) -> None:
    """Apply the policy CourseExecute put in the kernel's environment, if any, and remove it."""
    encoded = env.pop(POLICY_ENV_VAR, None)
    if encoded:
        apply(json.loads(encoded), kernel_argv)


if __name__ == "__main__":
    # `python sandbox.py <python> -m ipykernel_launcher -f <file>`: a cold kernel, sandboxed
    kernel_argv = sys.argv[1:]
    from_environment(os.environ, kernel_argv)
    del sys.path[0]  # this script's folder, checker/grading: its modules must not shadow others
    sys.argv = [kernel_argv[0], *kernel_argv[kernel_argv.index("ipykernel_launcher") + 1:]]
    import runpy

    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
