"""Run every benchmark, write benchmarks/results/*.json and regenerate RESULTS.md.

    .venv/bin/python -m benchmarks.run [--quick] [--only pixel,http,request,memory]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import report

RESULTS = report.RESULTS


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return f"{int(line.split()[1]) // 1024} MB RAM"
    return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs (about 3 minutes)")
    parser.add_argument("--only", default="pixel,http,request,request_targets,memory,viewer_fps,viewer_sync",
                        help="comma-separated sections to run")
    args = parser.parse_args(argv)
    sections = [s for s in args.only.split(",") if s]
    import numpy
    import pydicom
    RESULTS.mkdir(exist_ok=True)
    meta_path = RESULTS / "meta.json"
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta.update({
        "command": " ".join([".venv/bin/python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": _cpu(), "memory": _memory(),
        "python": platform.python_version(), "numpy": numpy.__version__, "pydicom": pydicom.__version__,
        "quick": args.quick,
    })
    meta.setdefault("loadavg", {})
    started = time.monotonic()
    for section in sections:
        print(f"{section} (load average {_loadavg()})", flush=True)
        before = _loadavg()
        t0 = time.monotonic()
        if section == "pixel":
            from . import pixel
            data = pixel.run(args.quick, Path(tempfile.mkdtemp(prefix="previewer-corpus-")))
        elif section == "http":
            from . import http_bench
            data = http_bench.run(args.quick)
            meta["orthanc_version"] = data.get("orthanc_version")
        elif section == "memory":
            from . import memory
            data = memory.run(args.quick)
        elif section == "viewer_fps":
            from . import viewer_fps
            data = viewer_fps.measure(3.0 if args.quick else 5.0)
        elif section == "viewer_sync":
            from . import viewer_sync
            data = viewer_sync.run_sync(3.0 if args.quick else 5.0)
        elif section == "request":
            from . import request_path
            data = request_path.run(args.quick)
        elif section == "request_targets":
            from . import request_targets
            data = request_targets.run(args.quick)
        else:
            parser.error(f"unknown section {section!r}")
        data["loadavg_before"], data["loadavg_after"] = before, _loadavg()
        data["seconds"] = round(time.monotonic() - t0, 1)
        data["quick"] = args.quick
        (RESULTS / f"{section}.json").write_text(json.dumps(data, indent=1) + "\n")
        meta["loadavg"][section] = f"{before} → {data['loadavg_after']}"
        print(f"  {section}: {data['seconds']} s", flush=True)
    meta["seconds"] = round(time.monotonic() - started, 1)
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    print(report.write(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
