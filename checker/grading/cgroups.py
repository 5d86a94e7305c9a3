"""Process groups the grader can end whole: every process a graded kernel starts, however it
detaches (a new session, a double fork), stays in that kernel's cgroup, and a cgroup of processes
is killed in one step. `pids.max` caps a fork bomb, which RLIMIT_NPROC does not do for root.

    run group   backprop-ninja-run-<pid>/      make grade's run: killed when the run ends or stops
      kernel    backprop-ninja-run-<pid>/k<pid>-<n>/   one graded kernel: killed after its notebook

Linux keeps cgroups in one or two hierarchies: cgroup v2 (`cgroup.kill` ends a group and all its
descendants at once) and, on older "hybrid" machines, v1's `pids` hierarchy (the process cap). A
group here is a folder in each hierarchy the grader can write. Where neither is writable (not root,
no delegation) `missing()` says so and kernels are ended by their session only.

Standard library only: the kernel side (`join_from_environment`) runs in the kernel's process
before anything else (sandbox.py), while /sys/fs/cgroup can still be written.
"""

import json
import os
import signal
import time
from pathlib import Path

ENV_VAR = "BACKPROP_NINJA_CGROUPS"  # a kernel's environment: the folders it joins, JSON
RUN_ENV_VAR = "BACKPROP_NINJA_RUN_CGROUPS"  # make grade's workers: their run's group, JSON
RUN_PREFIX = "backprop-ninja-run-"


def _mounts() -> dict:
    """{"v2": its mount point, "pids": v1's pids mount point}, for those mounted."""
    found = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        before, _, after = line.partition(" - ")
        fields, kind = before.split(), after.split()
        if kind and kind[0] == "cgroup2":
            found.setdefault("v2", fields[4])
        elif kind and kind[0] == "cgroup" and "pids" in kind[-1].split(","):
            found.setdefault("pids", fields[4])
    return found


def _own_paths() -> dict:
    """This process's cgroup in each hierarchy: {"v2": "/...", "pids": "/..."}."""
    own = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return own
    for line in lines:
        number, controllers, path = line.split(":", 2)
        if number == "0" and controllers == "":
            own["v2"] = path
        elif "pids" in controllers.split(","):
            own["pids"] = path
    return own


def _writable_roots() -> dict:
    """{hierarchy: the folder of this process's own cgroup there}, where a child can be made."""
    roots, own = {}, _own_paths()
    for kind, mount in _mounts().items():
        folder = Path(mount) / own.get(kind, "/").lstrip("/")
        if folder.is_dir() and os.access(folder, os.W_OK):
            roots[kind] = folder
    return roots


def missing() -> str:
    """'' if kernels can be kept in cgroups here, else what is missing, in one sentence."""
    roots = _writable_roots()
    lacks = []
    if "v2" not in roots and "pids" not in roots:
        return ("no cgroup can be made here (it needs root, or a cgroup delegated to this user), so a process "
                "a submission detaches can outlive grading and, as root, a fork bomb is not limited")
    if "v2" not in roots:
        lacks.append("no cgroup v2 to end a kernel's processes in one step (they are killed one by one)")
    if "pids" not in roots and not _v2_pids(roots.get("v2")):
        lacks.append("no pids controller, so as root a fork bomb is limited only by the time budget")
    return "; ".join(lacks)


def _v2_pids(folder: Path | None) -> bool:
    try:
        return folder is not None and "pids" in (folder / "cgroup.controllers").read_text().split()
    except OSError:
        return False


class Group:
    """One cgroup, as a folder in each writable hierarchy."""

    def __init__(self, folders: dict):
        self.folders = {kind: Path(folder) for kind, folder in folders.items()}

    @classmethod
    def make(cls, name: str, parent: "Group | None" = None) -> "Group":
        """A new group `name` under `parent` (or under this process's own cgroup); empty if none can be made."""
        under = parent.folders if parent is not None else _writable_roots()
        made = {}
        for kind, folder in under.items():
            try:
                (folder / name).mkdir()
                made[kind] = folder / name
            except OSError:
                continue
        group = cls(made)
        if "v2" in made and _v2_pids(made["v2"]):
            try:  # let children have a pids limit of their own
                (made["v2"] / "cgroup.subtree_control").write_text("+pids")
            except OSError:
                pass
        return group

    def __bool__(self):
        return bool(self.folders)

    def to_json(self) -> str:
        return json.dumps({kind: str(folder) for kind, folder in self.folders.items()})

    @classmethod
    def from_json(cls, text: str | None) -> "Group | None":
        return cls(json.loads(text)) if text else None

    def limit_processes(self, count: int) -> bool:
        """Cap the processes (threads included) in this group; False if no hierarchy can."""
        for folder in self.folders.values():
            try:
                (folder / "pids.max").write_text(str(count))
                return True
            except OSError:
                continue
        return False

    def join(self, pid: int = 0) -> None:
        """Move `pid` (0: the calling process) into this group."""
        for folder in self.folders.values():
            (folder / "cgroup.procs").write_text(str(pid))

    def pids(self) -> set:
        found = set()
        for folder in self.folders.values():
            for procs in [folder / "cgroup.procs", *folder.glob("*/**/cgroup.procs")]:
                try:
                    found |= {int(p) for p in procs.read_text().split()}
                except OSError:
                    continue
        return found

    def kill(self, wait: float = 5.0) -> set:
        """SIGKILL every process in this group and its children; returns the pids still alive after `wait`
        seconds (none, unless the machine is stuck)."""
        if "v2" in self.folders:
            try:
                (self.folders["v2"] / "cgroup.kill").write_text("1")
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while (alive := self.pids()) and time.monotonic() < deadline:
            for pid in alive:  # v1 only, or v2 without cgroup.kill (Linux < 5.14)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)
        return self.pids()

    def remove(self) -> None:
        """Kill what is left, then remove the folders (children first)."""
        self.kill()
        for folder in self.folders.values():
            for child in sorted(folder.glob("**/"), key=lambda p: len(p.parts), reverse=True):
                try:
                    child.rmdir()
                except OSError:
                    pass


def join_from_environment(env: dict) -> None:
    """In a kernel's own process, first thing: join the group its grader made for it."""
    group = Group.from_json(env.pop(ENV_VAR, None))
    if group:
        group.join(0)


def stale_runs() -> list[Group]:
    """Run groups whose `make grade` is gone (killed with -9, or the machine stopped it)."""
    runs = {}
    for kind, root in _writable_roots().items():
        for folder in root.glob(RUN_PREFIX + "*"):
            runs.setdefault(folder.name, {})[kind] = folder
    stale = []
    for name, folders in runs.items():
        pid, _, started = name.removeprefix(RUN_PREFIX).partition("-")
        if not pid.isdigit() or process_start(int(pid)) != started:
            stale.append(Group(folders))
    return stale


def run_group_name(pid: int) -> str:
    return f"{RUN_PREFIX}{pid}-{process_start(pid)}"


def children(group: "Group", prefix: str) -> list[Group]:
    """The groups under `group` whose names start with `prefix`, one Group per name."""
    found = {}
    for kind, folder in group.folders.items():
        for child in folder.glob(prefix + "*"):
            found.setdefault(child.name, {})[kind] = child
    return [Group(folders) for folders in found.values()]


def process_start(pid: int) -> str:
    """When `pid` started (clock ticks since boot): a pid and its start time name one process, even after
    the pid is used again."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def watch(pid: int, group_json: str) -> None:
    """Wait for `pid` to end, then kill and remove its run group: the run's processes do not outlive a
    `make grade` killed with SIGKILL (which no handler sees)."""
    import select

    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        pidfd = None
    if pidfd is not None:
        select.select([pidfd], [], [])
    Group.from_json(group_json).remove()


if __name__ == "__main__":  # python cgroups.py watch <pid> <group json>: started by make grade, in a session of its own
    import sys

    if sys.argv[1:2] == ["watch"]:
        watch(int(sys.argv[2]), sys.argv[3])
