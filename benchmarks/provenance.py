"""When, on what and from which code a benchmark section was measured.

Every section's JSON file (``results/<section>.json``) carries a
``"provenance"`` object, written by :func:`start` and :func:`finish` around
the section::

    {"date": "2026-12-08 09:15 UTC", "commit": "45bacfe+dirty",
     "command": ".venv/bin/python -m benchmarks.run --only pixel",
     "machine": "2 CPUs, Intel(R) Xeon(R) Processor, 24105 MB RAM", "cpus": 2,
     "software": "Orthanc 1.10.1, Python 3.11.2, numpy 2.4.6, pydicom 3.0.2",
     "loadavg_before": "0.12 0.30 0.41", "loadavg_after": "1.80 0.71 0.52", "seconds": 44.0}

(``seconds`` is the section's wall time.)

``commit`` is the short hash of HEAD, with ``+dirty`` when the work tree had
uncommitted changes (untracked files included) under previewer/, static/,
native/ or benchmarks/ (the results themselves excepted).  The report side
(:func:`describe`, :func:`busy`) reads files written before this existed too:
what they did not record is shown as "not recorded", never guessed.
"""
from __future__ import annotations

import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The code a measurement depends on: commits touching these make a section stale.
WATCHED = ("previewer", "static", "native")
#: Uncommitted changes here mark the run "+dirty" (the results a run writes do not).
_DIRTY_PATHS = (*WATCHED, "benchmarks", ":(exclude)benchmarks/results", ":(exclude)benchmarks/RESULTS.md")
NOT_RECORDED = "not recorded"


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"0.12 0.30 0.41"``."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def commit(root: Path = ROOT) -> str | None:
    """HEAD's short hash, ``+dirty`` if the measured code has uncommitted changes; None outside git."""
    head = _git(root, "rev-parse", "--short", "HEAD")
    if head is None:
        return None
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *_DIRTY_PATHS)
    return head.strip() + ("+dirty" if status is None or status.strip() else "")


def command(argv: list[str], module: str = "benchmarks.run") -> str:
    """The command line that ran ``module``, with the interpreter relative to the clone when inside it."""
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(ROOT))   # not resolved: the venv's python is a link
    except ValueError:
        shown = str(python)
    return shlex.join([shown, "-m", module, *argv])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) // 1024} MB RAM"
    except OSError:
        pass
    return "RAM unknown"


def _orthanc_version() -> str:
    from tests.orthanc_process import orthanc_version
    try:
        return ".".join(map(str, orthanc_version()))
    except (OSError, subprocess.CalledProcessError, ValueError):
        return "?"


def start(command_line: str, root: Path = ROOT) -> dict[str, Any]:
    """The provenance of a section that starts now (its load average after is added by :func:`finish`)."""
    import numpy
    import pydicom
    cpus = os.cpu_count() or 1
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(root),
        "command": command_line,
        "machine": f"{cpus} CPUs, {_cpu_model()}, {_memory()}",
        "cpus": cpus,
        "software": f"Orthanc {_orthanc_version()}, Python {platform.python_version()}, "
                    f"numpy {numpy.__version__}, pydicom {pydicom.__version__}",
        "loadavg_before": loadavg(),
    }


def finish(record: dict[str, Any], started: float) -> dict[str, Any]:
    """``record`` with the load average at the end of the section and its wall time since ``started``
    (a ``time.monotonic()``)."""
    return {**record, "loadavg_after": loadavg(), "seconds": round(time.monotonic() - started, 1)}


# --- the report's side --------------------------------------------------------------------------------------------

def of(data: dict[str, Any]) -> dict[str, Any]:
    """A section's provenance; for a file written before provenance was recorded, what it did record
    (its own load averages, a ``date``) and nothing else."""
    recorded = data.get("provenance")
    if isinstance(recorded, dict):
        return recorded
    legacy = {key: data[key] for key in ("date", "loadavg_before", "loadavg_after")
              if isinstance(data.get(key), str)}
    return legacy


def commits_since(commit_id: str, root: Path = ROOT) -> int | None:
    """How many commits touching previewer/, static/ or native/ HEAD has that ``commit_id`` has not;
    None when the commit is unknown to this clone."""
    base = commit_id.removesuffix("+dirty")
    if _git(root, "cat-file", "-e", f"{base}^{{commit}}") is None:
        return None
    out = _git(root, "rev-list", "--count", f"{base}..HEAD", "--", *WATCHED)
    return int(out) if out is not None and out.strip().isdigit() else None


def _staleness(commit_id: str, root: Path) -> str:
    count = commits_since(commit_id, root)
    if count is None:
        return "not in this clone's history"
    watched = ", ".join(f"{name}/" for name in WATCHED[:-1]) + f" or {WATCHED[-1]}/"
    return f"{count} commit{'' if count == 1 else 's'} touching {watched} since"


def describe(data: dict[str, Any], root: Path = ROOT, label: str = "") -> str:
    """The one line under a section's heading: date, commit and staleness, command, machine, load average
    (after ``label``, when given: which part of the section it is about)."""
    p = of(data)
    commit_id = p.get("commit")
    commit_text = f"`{commit_id}` ({_staleness(commit_id, root)})" if commit_id else NOT_RECORDED
    load = (f"{p.get('loadavg_before', NOT_RECORDED)} → {p.get('loadavg_after', NOT_RECORDED)}"
            if "loadavg_before" in p or "loadavg_after" in p else NOT_RECORDED)
    command_text = f"`{p['command']}`" if p.get("command") else NOT_RECORDED
    extra = []
    if p.get("software"):
        extra.append(p["software"])
    if data.get("quick"):
        extra.append("quick run")
    if p.get("seconds") is not None:
        extra.append(f"wall time {p['seconds']} s")
    fields = [f"*Measured* {p.get('date', NOT_RECORDED)}", f"*commit* {commit_text}", f"*command* {command_text}",
              f"*machine* {p.get('machine', NOT_RECORDED)}", *extra,
              f"*load average (1, 5, 15 min) before → after* {load}"]
    return (f"{label}: " if label else "") + "; ".join(fields) + "."


def busy(data: dict[str, Any], default_cpus: int) -> str | None:
    """The warning for a section that started while the 1-minute load average was above half the CPUs
    (its recorded count, else ``default_cpus``), or None."""
    p = of(data)
    before = str(p.get("loadavg_before", "")).split()
    if not before:
        return None
    cpus = int(p.get("cpus") or default_cpus)
    if float(before[0]) <= cpus * 0.5:
        return None
    return (f"> **The machine was busy when this section started** (1-minute load average {before[0]}, above "
            f"half of {cpus} CPUs): its numbers are noisy, ratios less so. Re-run it in a quiet moment.")


def stamp(data: dict[str, Any] | None, default_cpus: int, root: Path = ROOT, label: str = "") -> list[str]:
    """The markdown lines under a section's heading: :func:`describe`, then :func:`busy` if it applies."""
    if data is None:
        return []
    out = [describe(data, root, label), ""]
    warning = busy(data, default_cpus)
    return out + ([warning, ""] if warning else [])
