"""The request path against core ``/rendered``, side by side in one run, with wrk.

wrk (Debian's package) is the load generator: written in C, it costs far less
CPU per request than the Python one of ``http_bench.py``, which on this
2-core machine runs beside Orthanc and flattens every ratio toward 1.  One
Orthanc (WarmOnIngest off, a 256 MB cache) holds copies of the 512x512 CT.

- *warm*: every request is a new window on a decoded frame (ours) and the
  same window through core ``/rendered``: no cache can answer it;
- *cold* is not here: wrk runs for a fixed time, and a cold request needs
  an instance never asked before; ``request_path.py`` times cold requests one
  by one, ours and core's alternately, and ``request_report.py`` takes the
  cold target from there;
- Orthanc's encoder (``CompressAndAnswerPngImage``, the default) and the
  opt-in ``encoder=fast``; concurrency 1 and 4.

Ours and core alternate in short rounds so that both see the same moment of
a machine whose speed drifts; each case reports the median of its rounds.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from . import corpus
from .http_bench import upload_all
from .server import BenchOrthanc

WRK = shutil.which("wrk") or "/usr/bin/wrk"

#: (case, route, concurrency, encoder)
CASES = [
    ("warm", "ours", 1, "orthanc"), ("warm", "core", 1, ""),
    ("warm_fast", "ours", 1, "fast"),
    ("warm_c4", "ours", 4, "orthanc"), ("warm_c4", "core", 4, ""),
    ("warm_fast_c4", "ours", 4, "fast"),
]

#: A wrk script: GET the paths in turn, counting the answers that are not 200.
_SCRIPT = """
local paths = {%(paths)s}
local count = 0
request = function()
  count = count + 1
  return wrk.format("GET", paths[(count - 1) %% #paths + 1])
end
"""


def _lua_list(paths: list[str]) -> str:
    return ", ".join(json.dumps(p) for p in paths)


def _wrk(port: int, paths: list[str], connections: int, seconds: int, folder: Path) -> dict[str, float]:
    script = folder / "paths.lua"
    script.write_text(_SCRIPT % {"paths": _lua_list(paths)})
    out = subprocess.run([WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))   # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", out).group(1))           # type: ignore[union-attr]
    if re.search(r"Non-2xx|Socket errors", out):
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return {"rps": rps, "requests": done}


def _windows(ids: list[str], n: int, route: str, encoder: str) -> list[str]:
    """n requests over ``ids``, each a window not asked before."""
    out = []
    for k in range(n):
        center, width = 40 + (k % 997), 300 + (k // 997) % 400
        instance = ids[k % len(ids)]
        if route == "core":
            out.append(f"/instances/{instance}/rendered?window-center={center}&window-width={width}")
        else:
            extra = "&encoder=fast" if encoder == "fast" else ""
            out.append(f"/previewer/instances/{instance}/frames/0/png?window={center},{width}{extra}")
    return out


def run(quick: bool) -> dict[str, Any]:
    rounds = 3 if quick else 5
    seconds = 2 if quick else 4
    server = BenchOrthanc({"WarmOnIngest": False, "CacheSizeMB": 256})
    folder = Path(tempfile.mkdtemp(prefix="previewer-wrk-"))
    before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    try:
        server.start()
        port = server.port
        warm_ids, _ = upload_all(port, corpus.copies(corpus.ct_path(), 8))
        # Decode each frame once, and settle both routes.
        _wrk(port, _windows(warm_ids, 200, "ours", "orthanc"), 1, 1, folder)
        _wrk(port, _windows(warm_ids, 200, "core", ""), 1, 1, folder)
        runs: dict[str, dict[str, list[float]]] = {}
        for _ in range(rounds):
            for case, route, connections, encoder in CASES:
                result = _wrk(port, _windows(warm_ids, 5000, route, encoder), connections, seconds, folder)
                runs.setdefault(case, {}).setdefault(route, []).append(result["rps"])
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    cases: dict[str, Any] = {}
    for case, routes in runs.items():
        medians = {route: round(statistics.median(values), 1) for route, values in routes.items()}
        cases[case] = {"rps": medians, "rounds": routes}
    for case, core_case in (("warm_fast", "warm"), ("warm_fast_c4", "warm_c4")):
        cases[case]["rps"]["core"] = cases[core_case]["rps"]["core"]
    for case in cases.values():
        case["ratio"] = round(case["rps"]["ours"] / case["rps"]["core"], 2)
    return {"load_generator": "wrk -t1", "rounds": rounds, "seconds_per_round": seconds, "loadavg_before": before,
            "loadavg_after": " ".join(f"{v:.2f}" for v in os.getloadavg()), "cases": cases}


if __name__ == "__main__":
    import sys
    print(json.dumps(run("--quick" in sys.argv), indent=1))
