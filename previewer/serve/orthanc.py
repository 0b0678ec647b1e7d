"""What ``serve`` and the cluster share: the Orthanc binary, the built plugin and the sample images.

Both ``serve.cli`` and ``serve.cluster`` import from here (and from
``serve.supervise``); neither imports the other's helpers, so imports
flow one way: cli -> cluster -> orthanc, supervise.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent.parent
PLUGIN = ROOT / "build" / "libOrthancPreviewer.so"
ORTHANC = "/usr/sbin/Orthanc"
SAMPLES_MARKER = "samples-imported"


def plugin_path(build: bool = True) -> Path:
    """The built plugin, building it first if it is missing."""
    if not PLUGIN.exists() and build:
        subprocess.run([sys.executable, str(ROOT / "native" / "build.py"), str(PLUGIN.parent)],
                       check=True, stdout=subprocess.DEVNULL)
    return PLUGIN


def sample_files() -> list[Path]:
    """The sample images: pydicom's, pydicom-data's, and shared/dicom/extra when present (PS3.10 files)."""
    import pydicom.data

    folders = [Path(pydicom.data.__file__).parent / "test_files", ROOT.parent / "shared" / "dicom" / "extra"]
    try:
        import data_store  # pydicom-data

        folders.append(Path(data_store.__file__).parent / "data")
    except ImportError:
        pass
    return sorted(path for folder in folders if folder.is_dir() for path in folder.rglob("*") if _is_dicom(path))


def _is_dicom(path: Path) -> bool:
    """A file with the .dcm suffix, or with the DICM marker of a PS3.10 7.1 file (DICOMDIRs excluded)."""
    if not path.is_file() or path.name == "DICOMDIR":
        return False
    if path.suffix == ".dcm":
        return True
    with open(path, "rb") as handle:
        return handle.read(132)[128:] == b"DICM"


def _progress(done: int, total: int, width: int = 40) -> None:
    filled = width * done // max(total, 1)
    if not sys.stderr.isatty() and done < total and filled == width * (done - 1) // max(total, 1):
        return   # into a file: redrawn only when the bar grows
    sys.stderr.write(f"\rImporting samples [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def _reason(error: urllib.error.HTTPError) -> str:
    """Orthanc's reason for refusing a file: its error body's Details, else Message, else the HTTP status."""
    try:
        body = json.loads(error.read() or b"{}")
    except (ValueError, OSError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    parts = [str(body[key]) for key in ("Message", "Details") if body.get(key)]
    reason = ": ".join(dict.fromkeys(parts)) or f"HTTP {error.code} {error.reason}"
    return " ".join(reason.split())[:300]


def import_samples(url: str, files: Sequence[Path], log: LogRelay | None = None) -> tuple[int, int]:
    """POST each file to Orthanc's /instances with a one-line progress bar; (stored, refused).

    The summary that follows the bar names each refused file and Orthanc's reason, one line per file:
    the error lines Orthanc logged while refusing it (read through ``log``), else its HTTP error body.
    """
    stored = 0
    refused: list[tuple[Path, str]] = []
    for index, path in enumerate(files, 1):
        request = urllib.request.Request(url + "/instances", data=path.read_bytes(), method="POST")
        before = log.error_count() if log is not None else 0
        try:
            with urllib.request.urlopen(request, timeout=120):
                stored += 1
        except urllib.error.HTTPError as error:
            logged = log.errors_since(before) if log is not None else []
            refused.append((path, "; ".join(dict.fromkeys(logged))[:300] or _reason(error)))
        _progress(index, len(files))
    lines = [f"\n{stored} sample files stored, {len(refused)} refused by Orthanc" + (":" if refused else "")]
    lines += [f"  {_shown(path)}: {reason}" for path, reason in refused]
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()
    return stored, len(refused)


def _shown(path: Path) -> str:
    """A sample's name as the summary gives it: relative to its corpus' folder when it is under one."""
    for parent in path.parents:
        if parent.name in ("test_files", "data", "extra"):
            return str(path.relative_to(parent))
    return path.name


def _message(line: bytes) -> str:
    """A glog line's message: what follows ``file.cpp:123] ``, on one line."""
    text = line.decode("utf-8", "replace")
    return " ".join(text.split("] ", 1)[-1].split())


class LogRelay:
    """Copies a child's output, line by line, to a file while :meth:`to_file` is in force, else to stderr.

    ``serve`` runs Orthanc with its stdout and stderr on a pipe read by this
    relay, so that Orthanc's log lines during the sample import go to
    ``STORAGE/orthanc.log`` and do not break into the progress bar; after
    start-up they go to the terminal again.
    """

    def __init__(self, stream: IO[bytes], log_path: Path) -> None:
        self._stream = stream
        self._log_path = log_path
        self._file: IO[bytes] | None = None
        self._errors: list[str] = []
        self._lock = threading.Lock()
        self._logged = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._copy, name="orthanc-log", daemon=True)
        self._thread.start()

    def to_file(self) -> None:
        """From now on, Orthanc's lines are appended to the log file."""
        with self._lock:
            if self._file is None:
                self._file = open(self._log_path, "ab")

    def to_terminal(self) -> None:
        """From now on, Orthanc's lines go to stderr again."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def error_count(self) -> int:
        """How many error lines (glog's ``E`` severity) Orthanc has written so far."""
        with self._lock:
            return len(self._errors)

    def errors_since(self, count: int, wait: float = 0.5) -> list[str]:
        """The messages of the error lines after the first ``count``, waiting (bounded) for one to arrive.

        Orthanc logs a refusal before it answers, but this relay may read the line a moment after the answer.
        """
        with self._logged:
            self._logged.wait_for(lambda: len(self._errors) > count, timeout=wait)
            return self._errors[count:]

    def join(self, timeout: float = 5) -> None:
        """Wait (bounded) for the child's output to end, once the child has exited."""
        self._thread.join(timeout)
        self.to_terminal()

    def _copy(self) -> None:
        for line in iter(self._stream.readline, b""):
            with self._logged:
                if line.startswith(b"E"):
                    self._errors.append(_message(line))
                    self._logged.notify_all()
                try:
                    if self._file is not None:
                        self._file.write(line)
                        self._file.flush()
                    else:
                        sys.stderr.buffer.write(line)
                        sys.stderr.buffer.flush()
                except (OSError, ValueError):
                    pass   # the terminal is gone (SIGHUP): keep draining the pipe
        self._stream.close()
