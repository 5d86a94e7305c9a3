"""`make lab` serves JupyterLab on 127.0.0.1, with token auth, on the lessons, whose `python3` kernel is the venv's."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from course import ENV, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on `port`, from the kernel's own tables
    (/proc/net/tcp and tcp6: hex address:port, state 0A is LISTEN)."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    # each 32-bit word of the address is in the machine's (little-endian) byte order
                    words = [bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, len(address), 8)]
                    found.add(socket.inet_ntop(family, b"".join(words)))
    return found


def test_make_lab_serves_the_lessons_on_loopback_with_a_token(tmp_path):
    port = free_port()
    log = open(tmp_path / "lab.log", "w+")
    # A stray `python3` kernelspec on JUPYTER_PATH, which Jupyter reads before the venv's own kernels.
    stray = tmp_path / "stray" / "kernels" / "python3"
    stray.mkdir(parents=True)
    (stray / "kernel.json").write_text(json.dumps({"argv": ["/bin/false", "{connection_file}"], "display_name": "stray",
                                                   "language": "python"}))
    lab = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS=--no-browser --ServerApp.port={port} --ServerApp.port_retries=0"],
                           cwd=ROOT, env={**ENV, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_PATH": str(tmp_path / "stray")},
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = None
        for _ in range(120):
            log.seek(0)
            found = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", log.read())
            if found:
                url, token = f"http://127.0.0.1:{port}", found.group(1)
                break
            assert lab.poll() is None, f"make lab exited early:\n{(tmp_path / 'lab.log').read_text()}"
            time.sleep(0.5)
        assert url, f"JupyterLab did not start:\n{(tmp_path / 'lab.log').read_text()}"

        # only the loopback address: not 0.0.0.0 or ::, which any machine on the network can reach
        assert listening_addresses(port) == {"127.0.0.1"}
        assert get(f"{url}/api/contents")[0] == 403, "the server must require its token"
        status, contents = get(f"{url}/api/contents?token={token}")
        assert status == 200
        assert "04_makemore_atomic_backprop" in {item["name"] for item in contents["content"]}
        status, specs = get(f"{url}/api/kernelspecs?token={token}")
        assert {"python3", "backprop-ninja"} <= set(specs["kernelspecs"])  # the lessons', grading's
        assert specs["kernelspecs"]["python3"]["spec"]["display_name"] == "Python 3 (ipykernel)", "not the venv's python3"
        # the README: "in `make lab` both run this virtual environment's Python"
        for name in ("python3", "backprop-ninja"):
            program = specs["kernelspecs"][name]["spec"]["argv"][0]
            found = shutil.which(program, path=f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}")
            assert found and Path(found).parent == ROOT / ".venv" / "bin", (name, program, found)
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)
        log.close()
