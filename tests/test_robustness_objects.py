"""Hostile PDFs, videos, reports, presentation states, segmentations and overlays give no 5xx.

The mutants of tests/hostile_objects.py go through a real Orthanc; every route
that can meet them (PNG with each object parameter, /info, /report,
/document, DICOMweb rendered) must answer a PNG, the document, or a JSON 4xx
that names the problem (a tag or a known condition: ``hostile.not_ours``),
within a time bound, and Orthanc must stay up.
"""
from __future__ import annotations

import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from PIL import Image

import hostile
import hostile_objects
import objects_sources
from orthanc_process import OrthancProcess

TIMEOUT = 30
#: No answer may take longer than this (seconds): the time bound on a PDF, a video or a drawing.
SLOWEST = 20.0


#: The overlay routes of the small multi-frame overlay file's mutants: burned in (default and
#: overlays=1), red, resized, each format, the overlay's own frames (4-6) and others, off, the fast encoder.
OVERLAY_QUERIES = ["/png?overlays=1", "/png?overlay=red", "/png?overlay=ff0000&size=48",
                   "/png?overlay=%2300ff00&format=rgba32&size=40", "/png?format=gray16", "/png?format=signed16",
                   "/frames/3/png?overlay=yellow", "/frames/4/png?size=20", "/frames/9/png", "/png?overlays=0",
                   "/png?encoder=fast&overlay=blue&width=33&height=70"]
#: The 484x484 scanner file's mutants meet fewer (each costs ~10x more): burned in, /info, red and resized.
SIEMENS_OVERLAY_QUERIES = ["/png", "/info", "/png?overlay=red&size=48"]


def _dicomweb(orthanc: OrthancProcess, instance: str) -> list[str]:
    """DICOMweb rendered resources of an instance (which burn its overlays in), by the UIDs Orthanc stored."""
    tags = orthanc.get(f"/instances/{instance}/tags?simplify").json()
    base = (f"/previewer/dicom-web/studies/{tags.get('StudyInstanceUID')}/series/{tags.get('SeriesInstanceUID')}"
            f"/instances/{tags.get('SOPInstanceUID')}")
    return [base + "/rendered", base + "/frames/5/rendered", base + "/thumbnail"]


def _queries(kind: str, instance: str, image: str, source: str = "") -> list[str]:
    """Paths (with query) that a mutant of ``kind`` (made from ``source``) stored as ``instance`` meets;
    ``image`` is the referenced image."""
    own = f"/previewer/instances/{instance}"
    if source == "overlay":
        return [own + query for query in SIEMENS_OVERLAY_QUERIES]
    common = [own + "/png", own + "/info", own + "/png?size=32", own + "/frames/1/png"]
    if kind == "pdf":
        return common + [own + "/png?page=2", own + "/png?page=999999", own + "/document",
                         own + "/png?page=1&size=64&format=gray8"]
    if kind == "video":
        return common + [own + "/frames/15/png", own + "/frames/99999/png", own + "/png?size=16"]
    if kind == "report":
        return common + [own + "/report"]
    if kind == "overlay":
        return common + [own + query for query in OVERLAY_QUERIES]
    other = f"/previewer/instances/{image}/png?{kind}={instance}"
    return [own + "/info", own + "/png", other, other + "&size=40", other.replace("/png?", "/frames/1/png?"),
            f"/previewer/api/series/{{series}}/objects"]


def check(answer: requests.Response) -> str:
    """'' when the answer is acceptable: a PNG, HTML, PDF or JSON 200, or a JSON 4xx naming the problem as the
    previewer words it (``hostile.not_ours``)."""
    kind = answer.headers.get("content-type", "")
    if answer.status_code >= 500:
        return f"{answer.status_code}: {answer.text[:200]}"
    if answer.status_code >= 400:
        if not kind.startswith("application/json"):
            return f"{answer.status_code} is not JSON: {kind}"
        body = json.loads(answer.content)
        return hostile.not_ours(answer.status_code, body.get("error"))
    if kind.startswith("image/png"):
        try:
            Image.open(io.BytesIO(answer.content)).load()
        except Exception as error:  # noqa: BLE001
            return f"200 but not a PNG: {error}"
        return ""
    if kind.startswith("application/pdf"):
        return "" if answer.content.startswith(b"%PDF") or answer.content == b"" else "200 but not a PDF"
    if kind.startswith("text/html"):
        return "" if "<script>alert" not in answer.text else "unescaped script in the report"
    if kind.startswith("application/json"):
        json.loads(answer.content)
        return ""
    return f"unexpected content type {kind}"


def test_hostile_objects_answer_cleanly(orthanc: OrthancProcess, tmp_path: Path) -> None:
    """Every accepted mutant, on every route it meets: a PNG/document/report or a JSON 4xx, in bounded time."""
    sources = objects_sources.sources(tmp_path)
    image = hostile.upload(orthanc, sources.pop("image"))
    assert image is not None
    mutants = list(hostile_objects.mutants(sources))
    accepted = [(m, i) for m in mutants if (i := hostile.upload(orthanc, m.data)) is not None]
    assert len(accepted) >= len(mutants) * 0.6, "Orthanc refused most mutants: the generator is broken"

    def run(item: tuple[hostile_objects.Mutant, str]) -> list[tuple[str, int, float, str]]:
        """(mutant and path, status or 0, seconds, problem or '') of each request for one mutant."""
        mutant, instance = item
        answers = []
        series = orthanc.get(f"/instances/{image}").json()["ParentSeries"]
        with requests.Session() as http:
            source = mutant.name.split("/")[0]
            paths = _queries(mutant.kind, instance, image, source)
            if mutant.kind == "overlay":
                paths += _dicomweb(orthanc, instance)[: 1 if source == "overlay" else 3]
            for path in paths:
                path = path.replace("{series}", series)
                start = time.monotonic()
                try:
                    answer = http.get(orthanc.url + path, timeout=TIMEOUT)
                except requests.RequestException as error:
                    answers.append((f"{mutant.name} {path}", 0, time.monotonic() - start, type(error).__name__))
                    continue
                took = time.monotonic() - start
                why = check(answer) or (f"took {took:.1f} s" if took > SLOWEST else "")
                answers.append((f"{mutant.name} {path}", answer.status_code, took, why))
        return answers

    with ThreadPoolExecutor(4) as pool:
        answers = [a for found in pool.map(run, accepted) for a in found]
    slowest = max(answers, key=lambda a: a[2])
    print(f"\n{len(mutants)} mutants ({len(accepted)} stored by Orthanc), {len(answers)} requests, "
          f"{sum(a[1] >= 500 for a in answers)} 5xx, slowest {slowest[2]:.2f} s ({slowest[0]})")
    problems = [f"{where}: {why}" for where, _, _, why in answers if why]
    assert not problems, "\n".join(problems[:40])
    assert orthanc.process is not None and orthanc.process.poll() is None
    assert orthanc.get("/system").status_code == 200
