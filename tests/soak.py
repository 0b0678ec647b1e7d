"""A bounded soak — mixed requests at concurrency 16 against a real Orthanc.

Run as a script (`make soak`: 10 minutes) or through :func:`soak` (the ~45 s
test in tests/test_robustness_soak.py).  Requests mix many instances,
windows, sizes and formats with intended errors (unknown instance, bad
parameter, frame out of range).  A failure is any answer other than the one
intended (a 5xx, a timeout, a 4xx on a valid request).  Every second it
samples Orthanc's RSS, the frame cache's counters (/previewer/stats) and
glibc's heap statistics (the test probe's /probe/memory) into a CSV, drawn
as a PNG.

Leak criterion: a least-squares line is fitted to RSS over the second half
of the run; the cache must have been full (evicting) before that half
starts, or the run is not conclusive.  The growth the line gives over that
half must stay below max(16 MiB, 5 % of the mean RSS).  The slope is also
reported in MiB per hour, and glibc's in-use heap is fitted the same way.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from orthanc_process import OrthancProcess  # noqa: E402
from pixels_corpus import PYDICOM_DIR  # noqa: E402

FORMATS = ("", "gray8", "gray16", "signed16", "rgb24", "rgba32")


@dataclass(frozen=True)
class _Line:
    """A least-squares line through (t, y) points: its slope, centre and time span."""

    slope: float
    mean_t: float
    mean_y: float
    first_t: float
    last_t: float

    @property
    def growth(self) -> float:
        """What the line rises over its span."""
        return self.slope * (self.last_t - self.first_t)

    def at(self, t: float) -> float:
        return self.mean_y + self.slope * (t - self.mean_t)


@dataclass
class Result:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    #: One row a second: RSS, the frame cache's counters and glibc's heap statistics.
    samples: list[dict[str, float]] = field(default_factory=list)

    @property
    def rss(self) -> list[tuple[float, float]]:
        """(seconds, RSS in KiB) of every sample."""
        return [(row["seconds"], row["rss_kb"]) for row in self.samples]

    def cache_full_at(self) -> float | None:
        """When the frame cache first evicted an entry (it was full), or None."""
        return next((row["seconds"] for row in self.samples if row.get("cache_evictions", 0) > 0), None)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(len(ordered) * 0.99)] if ordered else 0.0

    def fit_start(self) -> float:
        """Where the leak fit starts: half-way through the run."""
        return self.samples[-1]["seconds"] / 2 if self.samples else 0.0

    def warmed_up(self) -> bool:
        """The cache was full (evicting) before the fit started, so the fit sees a steady state."""
        full = self.cache_full_at()
        return full is not None and full <= self.fit_start()

    def fit(self, column: str) -> _Line | None:
        """The least-squares line through ``column`` (KiB; bytes are converted) over the second half."""
        scale = 1024 if column.endswith("_bytes") else 1
        half = [(row["seconds"], row[column] / scale) for row in self.samples
                if column in row and row["seconds"] >= self.fit_start()]
        if len(half) < 3:
            return None
        mean_t = sum(t for t, _ in half) / len(half)
        mean_y = sum(y for _, y in half) / len(half)
        den = sum((t - mean_t) ** 2 for t, _ in half) or 1.0
        slope = sum((t - mean_t) * (y - mean_y) for t, y in half) / den
        return _Line(slope, mean_t, mean_y, half[0][0], half[-1][0])

    def leak_limit_kb(self) -> float:
        rss = [r for _, r in self.rss]
        return max(16 * 1024, 0.05 * sum(rss) / max(1, len(rss)))

    def summary(self) -> dict[str, Any]:
        rss, heap = self.fit("rss_kb"), self.fit("heap_in_use_bytes")
        growth_kb = rss.growth if rss is not None else 0.0
        return {"requests": self.requests, "failures": len(self.failures),
                "p99_ms": round(self.p99() * 1000, 1),
                "peak_rss_mb": round(max((r for _, r in self.rss), default=0) / 1024, 1),
                "cache_full_s": self.cache_full_at(), "fit_from_s": round(self.fit_start(), 1),
                "warmed_up": self.warmed_up(),
                "slope_mb_per_hour": round(rss.slope * 3600 / 1024, 2) if rss is not None else 0.0,
                "second_half_growth_mb": round(growth_kb / 1024, 2),
                "heap_in_use_growth_mb": None if heap is None else round(heap.growth / 1024, 2),
                "limit_mb": round(self.leak_limit_kb() / 1024, 1),
                "leak": growth_kb > self.leak_limit_kb()}


def _request(rng: random.Random, ids: list[tuple[str, int]]) -> tuple[str, set[int]]:
    """(path, acceptable statuses) of one random request."""
    instance, frames = rng.choice(ids)
    roll = rng.random()
    if roll < 0.05:
        return f"/previewer/instances/{'0' * 8}-{'1' * 8}-{'2' * 8}-{'3' * 8}-{'4' * 8}/png", {404}
    if roll < 0.08:
        return f"/previewer/instances/{instance}/png?window=abc", {400}
    if roll < 0.10:
        # 404, or 415 first when the instance is not decodable at all
        return f"/previewer/instances/{instance}/frames/{frames + 3}/png", {404, 415}
    if roll < 0.18:
        return f"/previewer/instances/{instance}/info", {200}
    if roll < 0.20:
        return "/previewer/stats", {200}
    query = []
    fmt = rng.choice(FORMATS)
    if fmt:
        query.append(f"format={fmt}")
    if rng.random() < 0.5:
        query.append(f"size={rng.choice([32, 64, 128, 256, 512])}")
    if rng.random() < 0.4:
        query.append(f"window={rng.randint(-1000, 3000)},{rng.randint(1, 4000)}")
    if rng.random() < 0.3:
        query.append("encoder=fast")   # zlib-ng in Orthanc's HTTP threads, under load and at shutdown
    frame = rng.randrange(frames)
    # Colour images refuse signed16 (400); some corpus files are not decodable (415).
    return f"/previewer/instances/{instance}/frames/{frame}/png?{'&'.join(query)}", {200, 400, 413, 415}


def soak(process: OrthancProcess, ids: list[tuple[str, int]], seconds: float, concurrency: int = 16,
         seed: int = 6) -> Result:
    result = Result()
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    start = time.monotonic()

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        with requests.Session() as http:
            while time.monotonic() < stop:
                path, ok = _request(rng, ids)
                began = time.monotonic()
                try:
                    status = http.get(process.url + path, timeout=60).status_code
                    why = "" if status in ok else f"{status} for {path}"
                except requests.RequestException as error:
                    why = f"{type(error).__name__} for {path}"
                took = time.monotonic() - began
                with lock:
                    result.requests += 1
                    result.latencies.append(took)
                    if why:
                        result.failures.append(why)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    with requests.Session() as http:
        while time.monotonic() < stop:
            _sample(process, http, result, time.monotonic() - start)
            time.sleep(1.0)
        for thread in threads:
            thread.join()
        _sample(process, http, result, time.monotonic() - start)
    return result


SAMPLE_COLUMNS = ("seconds", "rss_kb", "cache_entries", "cache_bytes", "cache_evictions",
                  "heap_in_use_bytes", "heap_free_bytes", "mmapped_bytes", "python_blocks")


def _sample(process: OrthancProcess, http: requests.Session, result: Result, now: float) -> None:
    row: dict[str, float] = {"seconds": round(now, 3), "rss_kb": process.rss_kb()}
    try:
        cache = http.get(process.url + "/previewer/stats", timeout=30).json()["cache"]
        row.update(cache_entries=cache["entries"], cache_bytes=cache["bytes"], cache_evictions=cache["evictions"])
        memory = http.get(process.url + "/probe/memory", timeout=30).json()
        row.update(heap_in_use_bytes=memory["in_use_bytes"], heap_free_bytes=memory["free_bytes"],
                   mmapped_bytes=memory["mmapped_bytes"], python_blocks=memory["python_blocks"])
    except (requests.RequestException, ValueError, KeyError):
        pass
    result.samples.append(row)


def upload_corpus(process: OrthancProcess, limit: int | None = None) -> list[tuple[str, int]]:
    """Upload pydicom's test images; (instance ID, number of frames) of each accepted."""
    ids = []
    paths = sorted(PYDICOM_DIR.glob("*.dcm"))[:limit]
    for path in paths:
        answer = process.http.post(process.url + "/instances", data=path.read_bytes(), timeout=60)
        if answer.status_code != 200:
            continue
        instance = answer.json()["ID"]
        info = process.get(f"/previewer/instances/{instance}/info")
        if info.status_code == 200 and info.json().get("pixel_data"):
            ids.append((instance, int(info.json().get("frames") or 1)))
    return ids


def write_outputs(result: Result, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "soak-rss.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, SAMPLE_COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(result.samples)
    _plot(result, folder / "soak-rss.png")


def _plot(result: Result, path: Path) -> None:
    """RSS (navy) and glibc's in-use heap (green) over time, the fitted line (red), cache full (grey)."""
    width, height, pad = 900, 420, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    if len(result.rss) >= 2:
        t_max = max(t for t, _ in result.rss) or 1
        kb_max = max(r for _, r in result.rss) * 1.1

        def xy(t: float, kb: float) -> tuple[float, float]:
            return pad + t / t_max * (width - 2 * pad), height - pad - kb / kb_max * (height - 2 * pad)

        draw.line([(pad, pad), (pad, height - pad), (width - pad, height - pad)], fill="black")
        for mib in range(0, int(kb_max / 1024), 50):
            draw.text((5, xy(0, mib * 1024)[1] - 6), f"{mib}", fill="black")
        full = result.cache_full_at()
        if full is not None:
            draw.line([xy(full, 0), xy(full, kb_max)], fill="grey")
        heap = [xy(row["seconds"], row["heap_in_use_bytes"] / 1024) for row in result.samples
                if "heap_in_use_bytes" in row]
        if len(heap) >= 2:
            draw.line(heap, fill="green", width=1)
        draw.line([xy(t, r) for t, r in result.rss], fill="navy", width=2)
        line = result.fit("rss_kb")
        if line is not None:
            draw.line([xy(t, line.at(t)) for t in (line.first_t, line.last_t)], fill="red", width=2)
        summary = result.summary()
        draw.text((pad, 8), f"Orthanc RSS (navy, MiB) and in-use heap (green) over {t_max:.0f} s; "
                  f"grey: cache full at {full}s; red: fit", fill="black")
        draw.text((pad, 24), f"second-half growth {summary['second_half_growth_mb']} MiB "
                  f"(limit {summary['limit_mb']}), peak {summary['peak_rss_mb']} MiB, "
                  f"{summary['requests']} requests, p99 {summary['p99_ms']} ms", fill="black")
    image.save(path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("test-artifacts/soak"))
    args = parser.parse_args(argv[1:])
    process = OrthancProcess(Path(tempfile.mkdtemp(prefix="soak-")), previewer={"CacheSizeMB": 64}).start()
    try:
        ids = upload_corpus(process)
        result = soak(process, ids, args.minutes * 60, args.concurrency)
    finally:
        process.stop()
    write_outputs(result, args.out)
    summary = result.summary()
    print(json.dumps({"instances": len(ids), **summary}, indent=2))
    for failure in result.failures[:20]:
        print("failure:", failure)
    return 1 if result.failures or summary["leak"] or not summary["warmed_up"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
