"""A bounded HTTP load generator: threads, one keep-alive connection each.

Every request goes to 127.0.0.1.  ``request(i)`` gives the path and headers of
the i-th request; the run stops after ``count`` requests or ``duration``
seconds, whichever comes first.  Bodies are read in full; no
``Accept-Encoding`` is sent, so Orthanc never gzips an answer.
"""
from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

Request = Callable[[int], tuple[str, dict[str, str]]]


@dataclass
class LoadResult:
    concurrency: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    statuses: dict[str, int]
    mean_bytes: float
    client_cpu_ms_per_request: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[rank]


class _Worker:
    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: http.client.HTTPConnection | None = None

    def fetch(self, path: str, headers: dict[str, str]) -> tuple[int, int]:
        for attempt in (0, 1):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.connection.request("GET", path, headers=headers)
                answer = self.connection.getresponse()
                body = answer.read()
                if answer.getheader("Connection", "").lower() == "close":
                    self.close()
                return answer.status, len(body)
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def run(port: int, request: Request, concurrency: int, *, count: int | None = None,
        duration: float | None = None, warmup: int = 0) -> LoadResult:
    """Run the load; ``warmup`` requests per thread are sent first and not counted."""
    if count is None and duration is None:
        raise ValueError("count or duration is needed")
    lock = threading.Lock()
    next_index = [0]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    sizes: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(concurrency + 1)
    stop_at = [float("inf")]

    def take() -> int | None:
        with lock:
            i = next_index[0]
            if count is not None and i >= count:
                return None
            next_index[0] = i + 1
            return i

    def body() -> None:
        worker = _Worker(port)
        try:
            for w in range(warmup):
                path, headers = request(-1 - w)
                worker.fetch(path, headers)
            barrier.wait()
            while time.perf_counter() < stop_at[0]:
                i = take()
                if i is None:
                    break
                path, headers = request(i)
                start = time.perf_counter()
                status, size = worker.fetch(path, headers)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
                    sizes.append(size)
        except BaseException as error:  # noqa: BLE001 - reported after the run
            errors.append(error)
            try:
                barrier.abort()
            except threading.BrokenBarrierError:
                pass
        finally:
            worker.close()

    threads = [threading.Thread(target=body, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    cpu0 = time.process_time()
    start = time.perf_counter()
    if duration is not None:
        stop_at[0] = start + duration
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    if errors:
        raise RuntimeError(f"load generator failed: {errors[0]!r}") from errors[0]
    values = sorted(latencies)
    n = len(values)
    return LoadResult(
        concurrency=concurrency, requests=n, seconds=round(seconds, 3),
        rps=round(n / seconds, 2) if seconds else float("nan"),
        p50_ms=round(_percentile(values, 0.50) * 1000, 2),
        p99_ms=round(_percentile(values, 0.99) * 1000, 2),
        mean_ms=round(statistics.fmean(values) * 1000, 2) if values else float("nan"),
        statuses=statuses, mean_bytes=round(statistics.fmean(sizes), 1) if sizes else 0.0,
        client_cpu_ms_per_request=round(cpu / n * 1000, 3) if n else float("nan"),
    )
