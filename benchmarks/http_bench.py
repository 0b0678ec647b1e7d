"""HTTP benchmarks against real Orthanc processes started here.

Process A (WarmOnIngest off): ingest rate, cold and warm PNGs of a 512x512 CT
vs core /rendered and /preview at concurrency 1, 4 and 16, If-None-Match
repeats, and the 1955x1841 CR's latency (Orthanc's encoder, the fast encoder,
JPEG) vs core /preview.  Process B (WarmOnIngest on): ingest rate.  Process C
(SerializeRequests on): the same warm load at concurrency 4 and 16.
"""
from __future__ import annotations

import http.client
import itertools
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from . import corpus, load
from .server import BenchOrthanc

CONCURRENCY = (1, 4, 16)
#: Every "new window" of the run is distinct, so no render cache entry is ever reused.
_windows = itertools.count()


def new_window() -> tuple[float, float]:
    k = next(_windows)
    return 30.0 + (k % 4000) * 0.25, 350.0 + k // 4000


def upload_all(port: int, blobs: list[bytes], concurrency: int = 1) -> tuple[list[str], float]:
    """POST every blob to /instances; the IDs and the wall time."""
    ids: list[str | None] = [None] * len(blobs)
    indices = iter(range(len(blobs)))
    lock = threading.Lock()

    def body() -> None:
        import json
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while True:
                with lock:
                    i = next(indices, None)
                if i is None:
                    return
                connection.request("POST", "/instances", body=blobs[i],
                                   headers={"Content-Type": "application/dicom"})
                answer = connection.getresponse()
                text = answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"upload failed: {answer.status} {text[:200]!r}")
                ids[i] = json.loads(text)["ID"]
        finally:
            connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=body) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if any(i is None for i in ids):
        raise RuntimeError("some uploads failed")
    return [str(i) for i in ids], seconds


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        start = time.perf_counter()
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        body = answer.read()
        return answer.status, dict(answer.getheaders()), body, time.perf_counter() - start
    finally:
        connection.close()


def ours(instance: str, query: str = "") -> str:
    return f"/previewer/instances/{instance}/frames/0/png" + (f"?{query}" if query else "")


def _round_robin(ids: list[str], make: Callable[[str], tuple[str, dict[str, str]]]) -> load.Request:
    def request(i: int) -> tuple[str, dict[str, str]]:
        return make(ids[i % len(ids)])
    return request


def load_rps(point: dict[str, Any]) -> float:
    """core /rendered req/s of a warm measurement point."""
    return float(point["core_rendered"]["rps"])


def warm_ours(ids: list[str], extra: str = "") -> load.Request:
    def make(instance: str) -> tuple[str, dict[str, str]]:
        c, w = new_window()
        return ours(instance, f"window={c:g},{w:g}{extra}"), {}
    return _round_robin(ids, make)


def core_rendered(ids: list[str]) -> load.Request:
    def make(instance: str) -> tuple[str, dict[str, str]]:
        c, w = new_window()
        return f"/instances/{instance}/rendered?window-center={c:g}&window-width={w:g}", {}
    return _round_robin(ids, make)


def core_preview(ids: list[str]) -> load.Request:
    return _round_robin(ids, lambda instance: (f"/instances/{instance}/preview", {}))


def _warm_cache(port: int, ids: list[str]) -> None:
    for instance in ids:
        status, _, body, _ = fetch(port, ours(instance, "window=40,400"))
        if status != 200:
            raise RuntimeError(f"warm-up request failed with {status}: {body[:300]!r}")


def _latencies(port: int, paths: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    """Sequential requests, one connection each time (as a browser opening one image)."""
    times, sizes, statuses = [], [], []
    for path, headers in paths:
        status, _, body, seconds = fetch(port, path, headers)
        times.append(seconds * 1000)
        sizes.append(len(body))
        statuses.append(status)
    return {"n": len(times), "p50_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1), "mean_bytes": round(statistics.fmean(sizes)),
            "statuses": sorted(set(statuses))}


def _wait_warmer(server: BenchOrthanc, expected: int, timeout: float = 300) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        warm = server.stats()["warmup"]
        if warm["done"] + warm["failed"] + warm["dropped"] >= expected:
            return time.perf_counter() - start
        time.sleep(0.05)
    raise RuntimeError("warm-up did not finish")


def run(quick: bool) -> dict[str, Any]:
    duration = 2.0 if quick else 7.0
    per_level = 16 if quick else 48
    cr_k = 2 if quick else 4
    results: dict[str, Any] = {"duration_s": duration, "cold_requests_per_level": per_level,
                               "cr_requests": cr_k}
    n_ingest = per_level * len(CONCURRENCY)
    ct_blobs = corpus.copies(corpus.ct_path(), n_ingest + 8)
    cr_blobs = corpus.copies(corpus.cr_path(), 2 * cr_k + 1)

    # ---- Process A -----------------------------------------------------
    server = BenchOrthanc({"WarmOnIngest": False, "CacheSizeMB": 256}).start()
    try:
        results["orthanc_version"] = server.version()
        port = server.port
        print("  http: ingest (WarmOnIngest off)", flush=True)
        cold_ids, seconds = upload_all(port, ct_blobs[:n_ingest])
        results["ingest_warm_off"] = {"instances": n_ingest, "seconds": round(seconds, 3),
                                      "instances_per_s": round(n_ingest / seconds, 1)}
        warm_ids, _ = upload_all(port, ct_blobs[n_ingest:])
        cr_ids, _ = upload_all(port, cr_blobs)

        print("  http: cold CT", flush=True)
        cold: dict[str, Any] = {}
        for n, c in enumerate(CONCURRENCY):
            chunk = cold_ids[n * per_level:(n + 1) * per_level]
            ours_cold = load.run(port, lambda i, ids=chunk: (ours(ids[i], "window=40,400"), {}), c,
                                 count=len(chunk))
            core = load.run(port, lambda i, ids=chunk: (
                f"/instances/{ids[i]}/rendered?window-center=40&window-width=400", {}), c, count=len(chunk))
            cold[str(c)] = {"ours": ours_cold.as_dict(), "core_rendered": core.as_dict(),
                            "ratio_rps": round(ours_cold.rps / core.rps, 2)}
        results["cold_ct"] = cold

        print("  http: warm CT", flush=True)
        _warm_cache(port, warm_ids)
        warm: dict[str, Any] = {}
        for c in CONCURRENCY:
            ours_warm = load.run(port, warm_ours(warm_ids), c, duration=duration, warmup=1)
            rendered = load.run(port, core_rendered(warm_ids), c, duration=duration, warmup=1)
            preview = load.run(port, core_preview(warm_ids), c, duration=duration, warmup=1)
            warm[str(c)] = {"ours": ours_warm.as_dict(), "core_rendered": rendered.as_dict(),
                            "core_preview": preview.as_dict(),
                            "ratio_rps_vs_rendered": round(ours_warm.rps / rendered.rps, 2),
                            "ratio_rps_vs_preview": round(ours_warm.rps / preview.rps, 2)}
        results["warm_ct"] = warm
        # The same warm load with the opt-in fast encoder ("PngEncoder": "fast" or encoder=fast).
        fast = load.run(port, warm_ours(warm_ids, "&encoder=fast"), 4, duration=duration, warmup=1)
        results["warm_ct_fast_c4"] = {"ours_fast": fast.as_dict(),
                                      "ratio_rps_vs_rendered": round(fast.rps / load_rps(warm["4"]), 2)}

        print("  http: If-None-Match", flush=True)
        path = ours(warm_ids[0], "window=40,400")
        status, headers, _, _ = fetch(port, path)
        etag = headers.get("ETag") or headers.get("Etag") or ""
        repeat: dict[str, Any] = {"etag": etag}
        for c in CONCURRENCY:
            hit = load.run(port, lambda i: (path, {"If-None-Match": etag}), c, duration=duration / 2, warmup=1)
            repeat[str(c)] = {"ours_304": hit.as_dict(),
                              "ratio_rps_vs_rendered": round(hit.rps / warm[str(c)]["core_rendered"]["rps"], 2)}
        results["if_none_match"] = repeat

        print("  http: CR latency", flush=True)
        cold_orthanc, cold_jpeg = cr_ids[:cr_k], cr_ids[cr_k:2 * cr_k]
        warm_cr = cr_ids[-1]
        cr: dict[str, Any] = {}
        # Core first on instances we render later: its decode does not warm our cache.
        cr["core_preview"] = _latencies(port, [(f"/instances/{warm_cr}/preview", {})] * cr_k)
        cr["core_rendered"] = _latencies(port, [(f"/instances/{warm_cr}/rendered", {})] * cr_k)
        cr["cold_orthanc"] = _latencies(port, [(ours(i), {}) for i in cold_orthanc])
        cr["cold_jpeg"] = _latencies(port, [(ours(i), {"Accept": "image/jpeg"}) for i in cold_jpeg])
        fetch(port, ours(warm_cr))

        def windows(extra: str) -> str:
            c, w = new_window()
            return f"window={15000 + c:g},{30000 + w:g}" + extra
        cr["warm_orthanc"] = _latencies(port, [(ours(warm_cr, windows("")), {}) for _ in range(cr_k)])
        cr["warm_jpeg"] = _latencies(port, [(ours(warm_cr, windows("")), {"Accept": "image/jpeg"})
                                            for _ in range(cr_k)])
        results["cr"] = cr
        results["stats_a"] = server.stats()
    finally:
        server.cleanup()

    # ---- Process B: WarmOnIngest on -----------------------------------------
    print("  http: ingest (WarmOnIngest on)", flush=True)
    server = BenchOrthanc({"WarmOnIngest": True, "CacheSizeMB": 256}).start()
    try:
        ids, seconds = upload_all(server.port, corpus.copies(corpus.ct_path(), n_ingest))
        drained = _wait_warmer(server, n_ingest)
        results["ingest_warm_on"] = {"instances": n_ingest, "seconds": round(seconds, 3),
                                     "instances_per_s": round(n_ingest / seconds, 1),
                                     "warmup_drained_after_s": round(drained, 3),
                                     "warmup": server.stats()["warmup"]}
    finally:
        server.cleanup()

    # ---- Process C: SerializeRequests on ------------------------------------
    print("  http: SerializeRequests on", flush=True)
    server = BenchOrthanc({"WarmOnIngest": False, "CacheSizeMB": 256, "SerializeRequests": True}).start()
    try:
        ids, _ = upload_all(server.port, corpus.copies(corpus.ct_path(), 8))
        _warm_cache(server.port, ids)
        serial: dict[str, Any] = {}
        for c in (4, 16):
            locked = load.run(server.port, warm_ours(ids), c, duration=duration, warmup=1)
            unlocked = results["warm_ct"][str(c)]["ours"]
            serial[str(c)] = {"serialize_true": locked.as_dict(), "serialize_false": unlocked,
                              "ratio_rps_false_vs_true": round(unlocked["rps"] / locked.rps, 2)}
        results["serialize"] = serial
    finally:
        server.cleanup()
    # ---- Process E: the fast encoder (its own process: see README, it may crash Orthanc) --
    print("  http: fast encoder", flush=True)
    results["cr"].update(_fast_encoder(cr_k))
    base = results["cr"]["core_preview"]["p50_ms"]
    for entry in results["cr"].values():
        if "p50_ms" in entry:
            entry["ratio_vs_core_preview"] = round(entry["p50_ms"] / base, 3)
    return results


def _fast_encoder(cr_k: int) -> dict[str, Any]:
    """CR latencies with encoder=fast, cold (fresh instances) and warm (new window each)."""
    out: dict[str, Any] = {}
    server = BenchOrthanc({"WarmOnIngest": False, "CacheSizeMB": 256}).start()
    try:
        ids, _ = upload_all(server.port, corpus.copies(corpus.cr_path(), cr_k + 1))
        port = server.port
        for key, paths in (
            ("cold_fast", lambda: [(ours(i, "encoder=fast"), {}) for i in ids[:cr_k]]),
            ("warm_fast", lambda: [(ours(ids[-1], f"window={15000 + c:g},{30000 + w:g}&encoder=fast"), {})
                                   for c, w in [new_window() for _ in range(cr_k)]]),
        ):
            try:
                if key == "warm_fast":
                    fetch(port, ours(ids[-1], "encoder=fast"))
                out[key] = _latencies(port, paths())
            except (OSError, http.client.HTTPException) as error:
                time.sleep(0.5)
                code = server.process.poll() if server.process else None
                out[key] = {"error": f"{type(error).__name__}: {error}", "orthanc_exit_code": code}
                if code is not None:
                    server.cleanup()
                    server = BenchOrthanc({"WarmOnIngest": False, "CacheSizeMB": 256}).start()
                    ids, _ = upload_all(server.port, corpus.copies(corpus.cr_path(), cr_k + 1))
                    port = server.port
    finally:
        server.cleanup()
    return out
