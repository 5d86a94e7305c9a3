"""The sandbox of a graded kernel, applied inside the kernel's own process before it runs a line of
the submission (kernel_zygote.py for warm kernels; `python sandbox.py <kernel command>` for cold
ones). Standard library only: it runs before anything else is imported.

    files     Landlock: read and execute everywhere except the course folder, Jupyter's runtime
              folder (other kernels' connection files) and the other kernels' private folders;
              inside the course only the checker, the data and the virtualenv can be read; write
              only in the kernel's own scratch folder (its autograded notebook's folder) and
              /dev/null; in its private folder (its connection file) make its sockets, nothing else
    network   a network namespace of its own, with no interface up, where Linux allows it (the
              kernel then talks to the grader over Unix sockets in its private folder); and
              Landlock (ABI 4+): no TCP connection out, TCP bind only on the kernel's own ports
    signals   Landlock (ABI 6+): no signal to a process outside the sandbox, no abstract Unix socket
    disk      a mount namespace of its own where the scratch folder is an overlay: the kernel reads
              the handed-in files there, and all it writes goes to a tmpfs of `disk_mb` that ends with
              it ("No space left on device" past it), never to the course's disk
    user      where the grader is root: a user of the kernel's own (UID_BASE + its pid), so Linux's
              process limit counts this kernel's processes alone and it can signal, trace or write
              nothing of anyone else's; it keeps only the right to read any file (Python may live in
              root's home), which Landlock narrows
    limits    memory (address space), size of a file written, number of processes, no core dumps

What it cannot express is said in docs/instructors.md (reading the grader's home folder, processes as root).
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
_PR_SET_NO_NEW_PRIVS, _PR_SET_KEEPCAPS = 38, 8
_CLONE_NEWNS, _MS_REC, _MS_PRIVATE = 0x00020000, 0x4000, 1 << 18
_CAP_DAC_READ_SEARCH, _CAPABILITY_VERSION_3 = 2, 0x20080522
UID_BASE = 2_000_000  # a kernel's user is UID_BASE + its pid: above the ids of people and of services

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR, REMOVE_FILE, MAKE_SOCK = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 5, 1 << 9
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


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


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


_probed = {}


def _works(call: str) -> bool:
    """Does `sandbox.<call>` succeed here? Tried once, in a short-lived process."""
    if call not in _probed:
        import subprocess

        probe = f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); " \
                f"import sandbox; sandbox.{call}"
        _probed[call] = subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0
    return _probed[call]


def network_namespaces() -> bool:
    """Can a kernel get a network namespace of its own here (as root, or through a user namespace)?"""
    return _works("_unshare_network()")


def private_writes() -> bool:
    """Can a kernel's writes go to a tmpfs of its own (a mount namespace: root)?"""
    return _works("_probe_private_writes()")


def weaker() -> str:
    """'' if the sandbox is whole here, else what it lacks, in one sentence."""
    lacks, abi = [], landlock_abi()
    if abi and abi < 4:
        lacks.append(f"Landlock ABI {abi} cannot restrict TCP (ABI 4, Linux 6.7, can)")
    if not network_namespaces():
        lacks.append("network namespaces are not available to this user, so UDP is not blocked")
    if not private_writes():
        lacks.append("a kernel gets no mount namespace of its own (it needs root), so what it writes is capped "
                     "per file but not in total")
    return "; ".join(lacks)


def policy(scratch: str, private: str, hidden: list[str], readable_inside: list[str], memory_mb: int,
           file_mb: int, processes: int, own_network: bool, disk_mb: int | None = None) -> dict:
    """`disk_mb`: the kernel's writes in total, None where private_writes() cannot hold them."""
    return {"scratch": scratch, "private": private, "hidden": hidden, "readable_inside": readable_inside,
            "memory_mb": memory_mb, "file_mb": file_mb, "processes": processes, "own_network": own_network,
            "disk_mb": disk_mb}


def _readable_outside(hidden: list[str]) -> list[str]:
    """Every path beside the ways down to the `hidden` folders: all of the file system but them. A
    link that leads into a hidden folder, or to a folder around one, is left out (a rule follows links)."""
    hidden = [os.path.realpath(h) for h in hidden]

    def around(path):  # `path` is a hidden folder, inside one, or holds one
        return any(os.path.commonpath([path, h]) in (path, h) for h in hidden)

    paths, todo = [], ["/"]
    while todo:
        here = todo.pop()
        try:
            names = os.listdir(here)
        except OSError:
            continue
        for name in names:
            path = os.path.join(here, name)
            target = os.path.realpath(path)
            if not around(target):
                paths.append(path)
            elif target == path and target not in hidden and os.path.isdir(path):
                todo.append(path)  # a folder on the way down to a hidden one: look inside
    return paths


def _unshare_network() -> None:
    """Move this process into a network namespace of its own (no interface up: no network at all)."""
    clone_newnet, clone_newuser = 0x40000000, 0x10000000
    if _libc.unshare(clone_newnet) == 0:
        return
    uid, gid = os.getuid(), os.getgid()  # not root: through a user namespace, as the same user
    if _libc.unshare(clone_newuser | clone_newnet) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare(CLONE_NEWNET): {os.strerror(error)}")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _mount(source: str | None, target: str, kind: str | None, flags: int, options: str | None) -> None:
    encode = lambda text: None if text is None else os.fsencode(text)  # noqa: E731
    if _libc.mount(encode(source), encode(target), encode(kind), flags, encode(options)) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {kind or 'propagation'} on {target}: {os.strerror(error)}")


def _overlay_path(path: str) -> str:
    return path.replace("\\", "\\\\").replace(",", "\\,").replace(":", "\\:")


def _write_in_memory(scratch: str, private: str, megabytes: int) -> None:
    """A mount namespace of this process's own, in which `scratch` is an overlay: what is there can
    be read, and every byte written there goes to a tmpfs of `megabytes` in `private`, which ends with
    the kernel; nothing reaches the disk under `scratch`."""
    if _libc.unshare(_CLONE_NEWNS) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare(CLONE_NEWNS): {os.strerror(error)}")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)  # no mount made here reaches the machine's
    layer = os.path.join(private, "writes")
    os.makedirs(layer, mode=0o700, exist_ok=True)
    _mount("backprop-ninja", layer, "tmpfs", 0, f"size={megabytes}m,mode=0700")
    upper, work = os.path.join(layer, "upper"), os.path.join(layer, "work")
    os.mkdir(upper)
    os.mkdir(work)
    _mount("overlay", scratch, "overlay", 0,
           f"lowerdir={_overlay_path(scratch)},upperdir={_overlay_path(upper)},workdir={_overlay_path(work)}")
    os.chdir(os.getcwd())  # the working folder was the disk's: from here on, the overlay


def _probe_private_writes() -> None:
    import shutil
    import tempfile

    folder = tempfile.mkdtemp()
    scratch, private = os.path.join(folder, "scratch"), os.path.join(folder, "private")
    try:
        os.mkdir(scratch)
        os.mkdir(private)
        _write_in_memory(scratch, private, 1)
        with open(os.path.join(scratch, "probe"), "w") as f:
            f.write("x")
    finally:
        os.chdir("/")
        for mounted in (scratch, os.path.join(private, "writes")):
            _libc.umount2(os.fsencode(mounted), 2)  # MNT_DETACH
        shutil.rmtree(folder)


def _become_own_user(owned: list[str]) -> None:
    """As root: become the user UID_BASE + this pid, owner of `owned` (folders it writes in), with no
    capability left but CAP_DAC_READ_SEARCH (read any file: this Python may live in root's 0700 home)."""
    uid = UID_BASE + os.getpid()
    for path in owned:
        os.chown(path, uid, uid, follow_symlinks=False)
    if _libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    data[0].effective = data[0].permitted = 1 << _CAP_DAC_READ_SEARCH
    if _libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _owned_by_kernel(scratch: str, private: str) -> list[str]:
    """The folders a kernel writes in (scratch's own, not the handed-in files) and its connection file."""
    folders = [here for here, _, _ in os.walk(scratch)]
    return folders + [private] + [os.path.join(private, n) for n in os.listdir(private) if n != "writes"]


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
    ports = _kernel_ports(kernel_argv)
    if rules["own_network"]:
        _unshare_network()
    if rules.get("disk_mb"):
        _write_in_memory(rules["scratch"], rules["private"], rules["disk_mb"])
    handled_fs = _FS_BY_ABI.get(abi, _FS_BY_ABI[5])
    attr = _RulesetAttr(handled_fs, BIND_TCP | CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for path in _readable_outside(rules["hidden"]) + list(rules["readable_inside"]):
            _add_path(ruleset, path, READ, handled_fs)
        _add_path(ruleset, rules["scratch"], handled_fs, handled_fs)
        # its connection file, and its sockets where it talks over Unix sockets: no file is written
        # there, or the kernel's writes would reach the disk past its budget
        _add_path(ruleset, rules["private"], READ | REMOVE_FILE | MAKE_SOCK, handled_fs)
        _add_path(ruleset, os.devnull, READ_FILE | WRITE_FILE, handled_fs)
        if abi >= 4:
            for port in ports:
                rule = _NetPort(BIND_TCP, port)
                _syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_NET_PORT), ctypes.byref(rule),
                         ctypes.c_uint32(0))
        _limit(rules)
        if os.geteuid() == 0:
            _become_own_user(_owned_by_kernel(rules["scratch"], rules["private"]))
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
    """Join the kernel's cgroup (cgroups.py), while /sys/fs/cgroup can still be written; apply the
    policy CourseExecute put in the kernel's environment, if any, and remove it; then install the
    guard (guard.py) it asked for, whose channel is opened before Landlock hides it."""
    if CGROUPS_ENV_VAR in env:
        _load_beside("cgroups.py").join_from_environment(env)
    encoded = env.pop(POLICY_ENV_VAR, None)
    guard = _load_beside("guard.py") if GUARD_ENV_VAR in env else None
    guard_policy = env.pop(GUARD_ENV_VAR, None)
    channel = guard.open_channel(json.loads(guard_policy)) if guard else None
    if encoded:
        apply(json.loads(encoded), kernel_argv)
    if guard:
        guard.install(json.loads(guard_policy), channel)


GUARD_ENV_VAR = "BACKPROP_NINJA_GUARD"  # guard.POLICY_ENV_VAR
CGROUPS_ENV_VAR = "BACKPROP_NINJA_CGROUPS"  # cgroups.ENV_VAR


def _load_beside(filename: str):
    """A module beside this file (guard.py, cgroups.py), under a name no notebook imports, and not in
    sys.modules: the guard's audit hook is all that keeps it."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), filename)
    spec = importlib.util.spec_from_file_location("_backprop_ninja_" + filename.removesuffix(".py"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    # `python sandbox.py <python> -m ipykernel_launcher -f <file>`: a cold kernel, sandboxed
    kernel_argv = sys.argv[1:]
    from_environment(os.environ, kernel_argv)
    del sys.path[0]  # this script's folder, checker/grading: its modules must not shadow others
    sys.argv = [kernel_argv[0], *kernel_argv[kernel_argv.index("ipykernel_launcher") + 1:]]
    import runpy

    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
