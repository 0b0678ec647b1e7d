"""Issue 6.6: a bounded soak — mixed requests at concurrency 16 against a real Orthanc.

Run as a script (`make soak`: 10 minutes) or through :func:`soak` (the ~45 s
test in tests/test_robustness_soak.py).  Requests mix many instances,
windows, sizes and formats with intended errors (unknown instance, bad
parameter, frame out of range).  A failure is any answer other than the one
intended (a 5xx, a timeout, a 4xx on a valid request).  RSS is sampled every
second into a CSV and drawn as a PNG.

Leak criterion: a least-squares line is fitted to RSS over the second half
of the run (after warm-up: caches full, arenas grown); the growth it gives
over that second half must stay below max(16 MiB, 5 % of the mean RSS).
The slope is also reported in MiB per hour.
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


@dataclass
class Result:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(len(ordered) * 0.99)] if ordered else 0.0

    def slope_kb_per_hour(self) -> float:
        half = self.rss[len(self.rss) // 2:]
        if len(half) < 3:
            return 0.0
        xs = [t for t, _ in half]
        ys = [float(r) for _, r in half]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        den = sum((x - mx) ** 2 for x in xs) or 1.0
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 3600

    def second_half_growth_kb(self) -> float:
        half = self.rss[len(self.rss) // 2:]
        return self.slope_kb_per_hour() / 3600 * (half[-1][0] - half[0][0]) if len(half) > 1 else 0.0

    def leak_limit_kb(self) -> float:
        mean = sum(r for _, r in self.rss) / max(1, len(self.rss))
        return max(16 * 1024, 0.05 * mean)

    def summary(self) -> dict[str, Any]:
        return {"requests": self.requests, "failures": len(self.failures),
                "p99_ms": round(self.p99() * 1000, 1),
                "peak_rss_mb": round(max((r for _, r in self.rss), default=0) / 1024, 1),
                "slope_mb_per_hour": round(self.slope_kb_per_hour() / 1024, 2),
                "second_half_growth_mb": round(self.second_half_growth_kb() / 1024, 2),
                "limit_mb": round(self.leak_limit_kb() / 1024, 1),
                "leak": self.second_half_growth_kb() > self.leak_limit_kb()}


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
    while time.monotonic() < stop:
        result.rss.append((time.monotonic() - start, process.rss_kb()))
        time.sleep(1.0)
    for thread in threads:
        thread.join()
    result.rss.append((time.monotonic() - start, process.rss_kb()))
    return result


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
        writer = csv.writer(handle)
        writer.writerow(["seconds", "rss_kb"])
        writer.writerows(result.rss)
    width, height, pad = 800, 400, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    if len(result.rss) >= 2:
        t_max = max(t for t, _ in result.rss) or 1
        r_max = max(r for _, r in result.rss) * 1.1
        points = [(pad + t / t_max * (width - 2 * pad), height - pad - r / r_max * (height - 2 * pad))
                  for t, r in result.rss]
        draw.line(points, fill="navy", width=2)
        draw.line([(pad, pad), (pad, height - pad), (width - pad, height - pad)], fill="black")
        draw.text((pad, 10), f"Orthanc RSS over {t_max:.0f} s (max {r_max / 1.1 / 1024:.0f} MiB); "
                  f"{json.dumps(result.summary())}"[:120], fill="black")
    image.save(folder / "soak-rss.png")


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
    return 1 if result.failures or summary["leak"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
