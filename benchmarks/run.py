"""Run the benchmarks, write benchmarks/results/<section>.json and regenerate RESULTS.md.

    .venv/bin/python -m benchmarks.run [--quick] [--only pixel,http,...] [--results DIR]

With no --only it runs every section that RESULTS.md shows from this
checkout (SECTIONS, in that order; `make bench`).  Each section's JSON
carries its own provenance (benchmarks/provenance.py): date, commit, command,
machine, software and the load average before and after.  The report is
then regenerated from all the JSON files of the results folder, so sections
not run keep their numbers and their own dates.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import provenance, report

Runner = Callable[[bool], dict[str, Any]]


def _pixel(quick: bool) -> dict[str, Any]:
    from . import pixel
    return pixel.run(quick, Path(tempfile.mkdtemp(prefix="previewer-corpus-")))


def _http(quick: bool) -> dict[str, Any]:
    from . import http_bench
    return http_bench.run(quick)


def _request(quick: bool) -> dict[str, Any]:
    from . import request_path
    return request_path.run(quick)


def _request_targets(quick: bool) -> dict[str, Any]:
    from . import request_targets
    return request_targets.run(quick)


def _memory(quick: bool) -> dict[str, Any]:
    from . import memory
    return memory.run(quick)


def _viewer_fps(quick: bool) -> dict[str, Any]:
    from . import viewer_fps   # the viewer as it is: both renderers and the MPR layout
    return viewer_fps.measure(3.0 if quick else 5.0)


def _viewer_sync(quick: bool) -> dict[str, Any]:
    from . import viewer_sync
    return viewer_sync.run_sync(3.0 if quick else 5.0)


#: Every section measured on this checkout, in the order a full run takes them.  RESULTS.md also shows
#: report.REFERENCE_SECTIONS, measurements of older revisions that this command does not repeat.
SECTIONS: dict[str, Runner] = {
    "pixel": _pixel, "http": _http, "request": _request, "request_targets": _request_targets,
    "memory": _memory, "viewer_fps": _viewer_fps, "viewer_sync": _viewer_sync,
}


def run_section(name: str, runner: Runner, quick: bool, command: str, results: Path) -> dict[str, Any]:
    """Run one section and write ``results/<name>.json`` with its provenance."""
    record = provenance.start(command)
    print(f"{name} (load average {record['loadavg_before']}, commit {record['commit']})", flush=True)
    t0 = time.monotonic()
    data = runner(quick)
    data["quick"] = quick
    data["provenance"] = provenance.finish(record, t0)
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"  {name}: {data['provenance']['seconds']} s", flush=True)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs (about 3 minutes)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run (default: all of {', '.join(SECTIONS)})")
    parser.add_argument("--results", type=Path, default=report.RESULTS,
                        help="folder of the JSON files; RESULTS.md is written only for the default folder")
    args = parser.parse_args(argv)
    sections = [s for s in args.only.split(",") if s]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(map(repr, unknown))}; known: {', '.join(SECTIONS)}")
    command = provenance.command(list(argv if argv is not None else sys.argv[1:]))
    for name in sections:
        run_section(name, SECTIONS[name], args.quick, command, args.results)
    if args.results.resolve() == report.RESULTS.resolve():
        print(report.write())
    else:
        print(f"results in {args.results}; RESULTS.md unchanged "
              f"(`python -m benchmarks.report --results {args.results}` prints that folder's report)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
