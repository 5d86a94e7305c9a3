"""Warm kernels for grading (CourseExecute in preprocessors.py): each notebook still gets a fresh kernel process of its own, but it
is forked from a "zygote" that has already imported torch and ipykernel, so the ~2 s each kernel
would spend starting Python and importing them is paid once per grading worker.

    worker (nbgrader autograde)  --JSON line-->  zygote (torch, ipykernel imported; no threads)
                                 <--{"pid"}---       | fork()
                                                     v
                                                 kernel: setsid, the requested cwd and env, stdio
                                                 to /dev/null, then ipykernel as
                                                 `python -m ipykernel_launcher -f <connection file>`

The zygote is `kernel_zygote.py`. The worker holds a pidfd for each kernel, so signals and liveness
checks can never reach a recycled pid. Kernels that are not the course's plain ipykernel command
start the ordinary way.
"""

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from jupyter_client import AsyncKernelManager

from . import sandbox

# Run as a script, not `python -m checker...`: that would import the checker package into every kernel.
ZYGOTE = Path(__file__).with_name("kernel_zygote.py")
SANDBOX = Path(__file__).with_name("sandbox.py")


def is_plain_ipykernel(argv: list) -> bool:
    """`<this python> [-X options] -m ipykernel_launcher ...`: a kernel the zygote can stand in for."""
    if "ipykernel_launcher" not in argv or os.path.realpath(argv[0]) != os.path.realpath(sys.executable):
        return False
    module = argv.index("ipykernel_launcher")
    return argv[module - 1] == "-m" and all(option.startswith("-X") for option in argv[1:module - 1])


class Zygote:
    """The worker's handle on its zygote process (started lazily, once)."""

    _instance = None  # False once it has failed to start

    def __init__(self, interpreter_options: tuple):
        # the kernels' interpreter options (-X...) are the zygote's: its kernels inherit its interpreter
        self.options = interpreter_options
        self.process = subprocess.Popen([sys.executable, *interpreter_options, str(ZYGOTE)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = json.loads(self.process.stdout.readline() or "{}")
        if ready.get("ready") is not True:
            raise RuntimeError(f"the kernel zygote did not start: {ready.get('error', 'no reply')}")

    @classmethod
    def shared(cls, interpreter_options: tuple) -> "Zygote | None":
        """This process's zygote, started on first use; None if it cannot start (kernels then start cold)."""
        if cls._instance is False:
            return None
        if cls._instance is None or cls._instance.process.poll() is not None or \
                cls._instance.options != interpreter_options:
            try:
                cls._instance = cls(interpreter_options)
            except (OSError, RuntimeError, ValueError):
                cls._instance = False
                return None
        return cls._instance

    def fork(self, argv: list, env: dict, cwd: str) -> int:
        self.process.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n")
        reply = json.loads(self.process.stdout.readline() or "{}")
        if "pid" not in reply:
            raise RuntimeError(f"the kernel zygote could not fork: {reply.get('error', 'no reply')}")
        return reply["pid"]


class ForkedKernel:
    """What jupyter_client's LocalProvisioner expects of a `Popen`, for a process that is not our
    child: liveness and signals go through a pidfd."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # it died (and was reaped) before we looked
            self._pidfd, self.returncode = None, -1

    def poll(self):
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self._exited()
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            self._exited()
        return self.returncode

    def send_signal(self, signum: int):
        if self.returncode is None:
            signal.pidfd_send_signal(self._pidfd, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def _exited(self):
        self.returncode = -1  # the zygote reaps it; its exit status is not ours to read
        os.close(self._pidfd)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the course's kernel inside sandbox.py when its environment
    carries a sandbox policy (CourseExecute puts it there), and refuses any other kernel then."""

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if sandbox.POLICY_ENV_VAR in (kw.get("env") or {}):
            if not is_plain_ipykernel(kernel_cmd):
                raise RuntimeError(f"only the course's Python kernel can be sandboxed, not {kernel_cmd[:3]}")
            options = kernel_cmd[1:kernel_cmd.index("ipykernel_launcher") - 1]
            kernel_cmd = [kernel_cmd[0], *options, str(SANDBOX), *kernel_cmd]
        return await super()._async_launch_kernel(kernel_cmd, **kw)


class WarmKernelManager(SandboxedKernelManager):
    """A kernel manager that forks the course's kernels from the worker's zygote (the child
    sandboxes itself before it becomes the kernel)."""

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        zygote = None
        if is_plain_ipykernel(kernel_cmd):
            zygote = Zygote.shared(tuple(kernel_cmd[1:kernel_cmd.index("ipykernel_launcher") - 1]))
        if zygote is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        provisioner = self.provisioner  # a LocalProvisioner; its pre_launch chose the ports
        pid = zygote.fork(kernel_cmd, dict(kw.get("env") or os.environ), str(kw.get("cwd") or os.getcwd()))
        provisioner.process = ForkedKernel(pid)
        provisioner.pid, provisioner.pgid = pid, None  # signal the kernel itself, through its pidfd
        provisioner.cwd = kw.get("cwd")
        self._reconcile_connection_info(provisioner.connection_info)
