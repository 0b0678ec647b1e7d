"""Where the time of one request goes, inside Orthanc: wall time per stage.

One Orthanc process (WarmOnIngest off) loads ``timing_probe.py``, which turns
on :mod:`previewer.plugin.timing`: the REST callback stamps its entry and exit, and
the request path stamps the end of each stage (routing, parameters, version
lookup, ETag, cache, file read, parse, decode, LUT, response, answer).  The
client stamps the send and the end of the body with the same clock
(CLOCK_MONOTONIC), so the time before the callback is entered (Orthanc's
HTTP server and REST dispatch, C to Python) and after it returns (the rest
of the answer, the client's read) is measured too.

Requests go one at a time on one keep-alive connection, on a 512x512 CT:
*warm* is a cached frame and a new window every time, *cold* the first
request on a freshly uploaded instance.  Each of ours is followed by core
``/rendered`` on the same kind of request, timed from the client only, so
that both see the same moment of a machine whose speed drifts.
"""
from __future__ import annotations

import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from previewer.config import Config

from . import corpus, provenance
from .http_bench import new_window, ours, upload_all
from .server import BenchOrthanc

PROBE = Path(__file__).resolve().parent / "timing_probe.py"
#: Stages outside the callback, measured against the client's clock.
HTTP_IN = "http_in"
HTTP_OUT = "http_out"


class _Client:
    """One keep-alive connection; each request's send and end times in ns."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path: str) -> tuple[int, int, bytes]:
        start = time.perf_counter_ns()
        self.connection.request("GET", path)
        answer = self.connection.getresponse()
        body = answer.read()
        done = time.perf_counter_ns()
        if answer.status != 200:
            raise RuntimeError(f"GET {path} answered {answer.status}: {body[:300]!r}")
        return start, done, body

    def close(self) -> None:
        self.connection.close()


def _records(client: _Client) -> list[tuple[str, list[tuple[str, int]]]]:
    _, _, body = client.get("/probe/request-timings")
    return [(url, [(stage, int(t)) for stage, t in marks]) for url, marks in json.loads(body)
            if url.startswith("/previewer/")]


def _stages(start: int, done: int, marks: list[tuple[str, int]]) -> dict[str, float]:
    """ms per stage of one request, in the order the stages first appear."""
    out: dict[str, float] = {HTTP_IN: (marks[0][1] - start) / 1e6}
    for (_, before), (stage, at) in zip(marks, marks[1:]):
        out[stage] = out.get(stage, 0.0) + (at - before) / 1e6
    out[HTTP_OUT] = (done - marks[-1][1]) / 1e6
    return out


def _minor_faults(pid: int) -> int:
    """Minor page faults of a process so far (/proc/PID/stat, field 10)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


def _summary(totals: list[float], faults: list[int]) -> dict[str, Any]:
    return {"requests": len(totals), "total_median_ms": round(statistics.median(totals), 3),
            "total_mean_ms": round(statistics.fmean(totals), 3), "total_min_ms": round(min(totals), 3),
            "page_faults_per_request": round(statistics.fmean(faults), 1)}


def _side_by_side(client: _Client, paths: list[str], core_paths: list[str] | None,
                  pid: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Run ``paths`` one at a time, each followed by the core request of ``core_paths`` at the
    same index (so that both see the same moment of a machine whose speed drifts); split
    ours into stages.  The page faults of each request are counted apart."""
    _records(client)  # forget anything recorded before
    times: list[tuple[int, int]] = []
    faults: list[int] = []
    core_totals: list[float] = []
    core_faults: list[int] = []
    for k, path in enumerate(paths):
        before = _minor_faults(pid)
        times.append(client.get(path)[:2])
        after = _minor_faults(pid)
        faults.append(after - before)
        if core_paths is not None:
            start, done, _ = client.get(core_paths[k])
            core_faults.append(_minor_faults(pid) - after)
            core_totals.append((done - start) / 1e6)
    records = _records(client)
    if [url for url, _ in records] != [path.split("?", 1)[0] for path in paths]:
        raise RuntimeError(f"{len(records)} timing records for {len(paths)} requests, or in another order")
    per_request = [_stages(start, done, marks) for (start, done), (_, marks) in zip(times, records)]
    order = list(dict.fromkeys(stage for stages in per_request for stage in stages))
    totals = [(done - start) / 1e6 for start, done in times]
    mean_total = statistics.fmean(totals)
    stages = []
    for stage in order:
        values = [stages.get(stage, 0.0) for stages in per_request]
        mean = statistics.fmean(values)
        stages.append({"stage": stage, "median_ms": round(statistics.median(values), 4),
                       "mean_ms": round(mean, 4), "share": round(mean / mean_total, 4)})
    ours = {**_summary(totals, faults), "stages": stages}
    return ours, (_summary(core_totals, core_faults) if core_paths is not None else None)


def _windowed(ids: list[str], n: int, extra: str = "") -> list[str]:
    paths = []
    for i in range(n):
        c, w = new_window()
        paths.append(ours(ids[i % len(ids)], f"window={c:g},{w:g}{extra}"))
    return paths


def _core_windowed(ids: list[str], n: int) -> list[str]:
    paths = []
    for i in range(n):
        c, w = new_window()
        paths.append(f"/instances/{ids[i % len(ids)]}/rendered?window-center={c:g}&window-width={w:g}")
    return paths


def run(quick: bool, package: Path | None = None, plugin: Path | None = None) -> dict[str, Any]:
    """The profile; with ``package``, of the ``previewer`` package in that folder (another
    revision: a worktree, or ``git archive REV previewer benchmarks``) instead of this one,
    with that revision's probe and, given ``plugin``, its build of the library."""
    if time.get_clock_info("perf_counter").implementation != "clock_gettime(CLOCK_MONOTONIC)":
        raise RuntimeError("the stages outside the callback need perf_counter to be CLOCK_MONOTONIC")
    n_warm = 100 if quick else 400
    n_cold = 24 if quick else 80
    probe = PROBE
    if package is not None and (package / "benchmarks" / "timing_probe.py").is_file():
        probe = package / "benchmarks" / "timing_probe.py"   # it imports that revision's modules
    server = BenchOrthanc({"WarmOnIngest": False, "CacheSizeMB": 256, "TestModules": [str(probe)]},
                          plugin=plugin)
    if package is not None:
        # The embedded Python puts PYTHONPATH before the venv: that copy is imported.
        server.env = {"PYTHONPATH": str(package.resolve())}
    server.start()
    client = _Client(server.port)
    try:
        blobs = corpus.copies(corpus.ct_path(), 2 * n_cold + 8)
        cold_ours, _ = upload_all(server.port, blobs[:n_cold])
        cold_core, _ = upload_all(server.port, blobs[n_cold:2 * n_cold])
        warm_ids, _ = upload_all(server.port, blobs[2 * n_cold:])
        for instance in warm_ids:
            client.get(ours(instance, "window=40,400"))
            client.get(f"/instances/{instance}/rendered?window-center=40&window-width=400")
        pid = server.process.pid if server.process else 0
        # Settle the process (imports, first numpy calls) before anything is timed.
        _side_by_side(client, _windowed(warm_ids, 20), None, pid)
        warm, warm_core = _side_by_side(client, _windowed(warm_ids, n_warm), _core_windowed(warm_ids, n_warm), pid)
        warm_fast, _ = _side_by_side(client, _windowed(warm_ids, n_warm, "&encoder=fast"), None, pid)
        cold, cold_rendered = _side_by_side(
            client, [ours(i, "window=40,400") for i in cold_ours],
            [f"/instances/{i}/rendered?window-center=40&window-width=400" for i in cold_core], pid)
        result: dict[str, Any] = {
            "image": "512x512 CT (693_UNCI copies), gray8, window given",
            "package": str(package) if package is not None else "this checkout",
            "mmap_threshold_kb": server.config["Previewer"].get("MmapThresholdKB", Config().mmap_threshold_kb),
            "warm": warm, "warm_core_rendered": warm_core, "warm_fast": warm_fast,
            "cold": cold, "cold_core_rendered": cold_rendered,
        }
    finally:
        client.close()
        server.cleanup()
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.request_path --package DIR --out FILE``: profile another revision."""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--package", type=Path, help="folder holding the previewer package to profile")
    parser.add_argument("--plugin", type=Path, help="that revision's build of libOrthancPreviewer.so")
    parser.add_argument("--revision", default="", help="what --package is (recorded with the results)")
    parser.add_argument("--out", type=Path, required=True, help="results JSON to write")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    record = provenance.start(provenance.command(list(argv if argv is not None else sys.argv[1:]),
                                                 "benchmarks.request_path"))
    started = time.monotonic()
    data = run(args.quick, args.package, args.plugin)
    data.update({"revision": args.revision, "quick": args.quick, "provenance": provenance.finish(record, started)})
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
