"""A real Orthanc process with the previewer plugin, for tests and benchmarks.

Each process gets free ports (never 8042 or 4242), a temporary folder and
configuration, and is stopped by its PID.
"""
from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from previewer.serve.cluster import free_port

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "build" / "libOrthancPreviewer.so"
ORTHANC = "/usr/sbin/Orthanc"
PROBE = Path(__file__).resolve().parent / "plugin_probe.py"
#: Loaded with the probe: routes and a storage area that wait for the test (tests/probe_waits.py).
WAITS = Path(__file__).resolve().parent / "probe_waits.py"


def default_sigint() -> None:
    """A ``preexec_fn``: SIGINT back to its default in the child.

    A job that a non-interactive shell starts in the background inherits
    SIGINT ignored, and a child that starts with it ignored keeps it ignored:
    the tests that stop ``previewer serve`` with SIGINT would then wait for
    nothing.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@functools.cache
def orthanc_version() -> tuple[int, ...]:
    """The version of the Orthanc at ORTHANC: (1, 10, 1) on bookworm, (1, 12, 7) on trixie."""
    out = subprocess.run([ORTHANC, "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(number) for number in out.split("\n", 1)[0].split()[-1].split("."))


def redirect_status() -> int:
    """What OrthancPluginRedirect answers: 301 up to Orthanc 1.12.3, 307 since 1.12.4."""
    return 307 if orthanc_version() >= (1, 12, 4) else 301


def error_content_types(media_type: str) -> list[str]:
    """The Content-Type headers of a plugin's error answer that has a body and set ``media_type``.

    Since 1.12.2 Orthanc adds "text/plain" to such an answer, after the
    plugin's own header: it only counts a Content-Type that it set itself.
    """
    return [media_type, "text/plain"] if orthanc_version() >= (1, 12, 2) else [media_type]


class OrthancProcess:
    """Start with :meth:`start`, stop with :meth:`stop` (or use as a context manager)."""

    def __init__(self, folder: Path, *, previewer: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None, plugins: Iterable[str] | None = None,
                 env: dict[str, str] | None = None, probe: bool = True) -> None:
        self.folder = folder
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.log_path = folder / "orthanc.log"
        section = dict(previewer or {})
        if probe:
            section.setdefault("TestModules", []).extend([str(PROBE), str(WAITS)])
        self.config: dict[str, Any] = {
            "Name": "PreviewerTest",
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": "ORTHANC",
            "StorageDirectory": str(folder / "db"),
            "IndexDirectory": str(folder / "db"),
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "HttpDescribeErrors": True,
            "Plugins": list(plugins) if plugins is not None else [str(PLUGIN)],
            "Previewer": section,
            **(extra or {}),
        }
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.http = requests.Session()

    @property
    def config_path(self) -> Path:
        return self.folder / "orthanc.json"

    @property
    def config_argument(self) -> str:
        """What Orthanc is given on its command line (the configuration file)."""
        return str(self.config_path)

    def start(self, timeout: float = 60.0, expect_failure: bool = False) -> OrthancProcess:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config, indent=2))
        env = dict(os.environ)
        env.update(self.env or {})
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([ORTHANC, "--verbose", self.config_argument],
                                        stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, env=env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if expect_failure:
                    return self
                raise RuntimeError(f"Orthanc exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.http.get(self.url + "/system", timeout=2).status_code == 200:
                    if expect_failure:
                        self.stop()
                        raise RuntimeError("Orthanc started although it was expected to fail")
                    return self
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not start in {timeout} s:\n{self.log()}")

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.http.close()
        return self.process.returncode

    def __enter__(self) -> OrthancProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=60, **kwargs)

    def upload(self, path: Path | str) -> dict[str, Any]:
        """POST a DICOM file to /instances; the answer (ID, Status) as JSON."""
        answer = self.http.post(self.url + "/instances", data=Path(path).read_bytes(), timeout=60)
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    def rss_kb(self) -> int:
        """Resident memory of the Orthanc process, in KiB."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")
