"""Peak RSS of Orthanc under a mixed load, against the previewer's cache limit.

Baseline: VmRSS after start-up and the upload, before any rendering.  The
load (concurrency 4) mixes new windows on CTs and CRs, downscaled CRs, JPEG,
random frames of a 120-frame US and If-None-Match repeats, over more decoded
pixels than the cache holds, so the LRU must evict.  VmRSS is sampled every
0.1 s.
"""
from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import pydicom.data

from . import corpus, load
from .http_bench import fetch, new_window, ours, upload_all
from .server import BenchOrthanc

CACHE_MB = 64


def run(quick: bool) -> dict[str, Any]:
    duration = 60.0 if quick else 120.0
    # Orthanc's own storage cache (MaximumStorageCacheSize, 128 MB by default) keeps
    # the DICOM files read by any route, ours or core's: it is turned off here so
    # that the peak measures the previewer, as the target's formula intends.
    server = BenchOrthanc({"WarmOnIngest": False, "CacheSizeMB": CACHE_MB},
                          extra={"MaximumStorageCacheSize": 0}).start()
    try:
        port = server.port
        ct_ids, _ = upload_all(port, corpus.copies(corpus.ct_path(), 24))
        cr_ids, _ = upload_all(port, corpus.copies(corpus.cr_path(), 12))
        us_path = pydicom.data.get_testdata_file("color3d_jpeg_baseline.dcm")
        us_ids, _ = upload_all(port, [Path(us_path).read_bytes()])
        status, headers, _, _ = fetch(port, ours(ct_ids[0], "window=40,400"))
        etag = headers.get("ETag", "")
        time.sleep(1.0)
        baseline_kb = server.rss_kb()
        samples: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                try:
                    samples.append(server.rss_kb())
                except (OSError, RuntimeError):
                    return
                time.sleep(0.1)

        rng = random.Random(5)
        lock = threading.Lock()

        def request(i: int) -> tuple[str, dict[str, str]]:
            with lock:
                r = rng.random()
                c, w = new_window()
                ct, cr = rng.choice(ct_ids), rng.choice(cr_ids)
                frame = rng.randrange(120)
            if r < 0.30:
                return ours(ct, f"window={c:g},{w:g}"), {}
            if r < 0.45:
                return ours(cr, f"window={15000 + c:g},{30000 + w:g}&size=512"), {}
            if r < 0.55:
                return ours(cr, f"window={15000 + c:g},{30000 + w:g}"), {"Accept": "image/jpeg"}
            if r < 0.60:
                return ours(cr, f"window={15000 + c:g},{30000 + w:g}"), {}
            if r < 0.85:
                return f"/previewer/instances/{us_ids[0]}/frames/{frame}/png", {}
            return ours(ct_ids[0], "window=40,400"), {"If-None-Match": etag}

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = load.run(port, request, 4, duration=duration)
        stop.set()
        sampler.join()
        end_kb = server.rss_kb()
        stats = server.stats()
    finally:
        server.cleanup()
    peak_kb = max(samples + [end_kb])
    limit_kb = baseline_kb + CACHE_MB * 1024 + 100 * 1024
    return {
        "duration_s": duration, "cache_size_mb": CACHE_MB, "orthanc_storage_cache_mb": 0,
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"), "load": result.as_dict(),
        "baseline_rss_mb": round(baseline_kb / 1024, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
        "end_rss_mb": round(end_kb / 1024, 1), "peak_minus_baseline_mb": round((peak_kb - baseline_kb) / 1024, 1),
        "allowed_peak_mb": round(limit_kb / 1024, 1), "samples": len(samples),
        "cache_stats": stats["cache"],
        "instances": {"ct": len(ct_ids), "cr": len(cr_ids), "us_multiframe_120": len(us_ids)},
    }
