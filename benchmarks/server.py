"""An Orthanc process for benchmarks: the test-suite launcher without ``--verbose``.

Verbose logging writes several lines per HTTP request; a production Orthanc
does not run verbose, so the benchmarks do not either.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from tests.orthanc_process import ORTHANC, OrthancProcess

#: Orthanc settings every benchmark process shares (the defaults, made explicit).
COMMON = {"KeepAlive": True, "HttpThreadsCount": 50, "StorageCompression": False}


class BenchOrthanc(OrthancProcess):
    """Orthanc + the previewer plugin on free 127.0.0.1 ports, non-verbose."""

    def __init__(self, previewer: dict[str, Any], extra: dict[str, Any] | None = None,
                 plugin: Path | None = None) -> None:
        folder = Path(tempfile.mkdtemp(prefix="previewer-bench-"))
        super().__init__(folder, previewer=previewer, extra={**COMMON, **(extra or {})}, probe=False,
                         plugins=[str(plugin)] if plugin is not None else None)
        self.port = self.http_port

    def start(self, timeout: float = 60.0, expect_failure: bool = False) -> BenchOrthanc:
        self.folder.mkdir(parents=True, exist_ok=True)
        import json
        self.config_path.write_text(json.dumps(self.config, indent=2))
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([ORTHANC, str(self.config_path)], stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.folder, env={**os.environ, **(self.env or {})})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                if self.http.get(self.url + "/system", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not start in {timeout} s:\n{self.log()[-4000:]}")

    def cleanup(self) -> None:
        """Stop the process and remove its temporary folder."""
        import shutil
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def version(self) -> str:
        return str(self.get("/system").json()["Version"])

    def stats(self) -> dict[str, Any]:
        return self.get("/previewer/stats").json()  # type: ignore[no-any-return]
