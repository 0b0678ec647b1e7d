"""Hostile DICOM files through a real Orthanc never give a 5xx or a hang.

Every mutant of tests/hostile.py is uploaded; those Orthanc accepts are
rendered in every format, as frame 1, as a thumbnail, and described by
/info.  Each answer must be a correct PNG (its size is the dataset's, or the
requested box) or a JSON error with a 4xx status whose message is one of the
previewer's (it names a tag or a known condition: ``hostile.not_ours``);
Orthanc stays up.
"""
from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydicom
import pytest
import requests
from PIL import Image

import hostile
from conftest import CT_SMALL
from orthanc_process import OrthancProcess

FORMATS = ("gray8", "gray16", "signed16", "rgb24", "rgba32")
PIL_MODES = {"gray8": ("L",), "gray16": ("I;16", "I"), "signed16": ("I;16", "I"),
             "rgb24": ("RGB",), "rgba32": ("RGBA",)}
ALLOWED_ERRORS = {400, 404, 413, 415}
TIMEOUT = 30


def _queries() -> list[tuple[str, str, str]]:
    """(route suffix, query, expected format or "") for one instance."""
    out = [("/png", "", ""), ("/info", "", ""), ("/frames/1/png", "", ""),
           ("/png", "size=32", ""), ("/frames/0/png", "window=40,0", "")]
    out += [("/png", f"format={fmt}", fmt) for fmt in FORMATS]
    return out


def check_answer(answer: requests.Response, fmt: str, dims: tuple[int, int] | None,
                 box: int | None = None) -> str:
    """'' if the answer is acceptable, else why not."""
    status = answer.status_code
    if status == 200:
        if answer.headers.get("content-type", "").startswith("application/json"):
            info = json.loads(answer.content)
            # /info of an image that does not decode says why, as the PNG route's error would
            if isinstance(info, dict) and info.get("decodable") is False and info.get("reason"):
                return hostile.not_ours(415, info["reason"])
            return ""
        try:
            image = Image.open(io.BytesIO(answer.content))
            image.load()
        except Exception as error:  # noqa: BLE001
            return f"200 but not a PNG: {error}"
        if fmt and image.mode not in PIL_MODES[fmt]:
            return f"format {fmt} gave PNG mode {image.mode}"
        if dims is not None:
            rows, cols = dims
            if box is None and image.size != (cols, rows):
                return f"PNG is {image.size}, dataset says {cols}x{rows}"
            if box is not None and (max(image.size) > box or image.size[0] > cols):
                return f"PNG is {image.size}, box {box}"
        return ""
    if status not in ALLOWED_ERRORS:
        return f"status {status}: {answer.text[:300]}"
    try:
        body = json.loads(answer.content)
    except ValueError:
        return f"status {status} without a JSON body: {answer.content[:200]!r}"
    if not isinstance(body, dict) or not body.get("error"):
        return f"status {status} with a JSON body lacking 'error': {body!r}"
    return hostile.not_ours(status, body["error"])


def _dims(data: bytes) -> tuple[int, int] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
        return int(ds.Rows), int(ds.Columns)
    except Exception:  # noqa: BLE001
        return None


@pytest.fixture(scope="module")
def hostile_orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    process = OrthancProcess(tmp_path_factory.mktemp("hostile"))
    process.start()
    yield process
    process.stop()


def test_hostile_files_render_or_fail_cleanly(hostile_orthanc: OrthancProcess) -> None:
    """Every accepted mutant: correct PNG or a JSON 4xx, for every route and format."""
    mutants = list(hostile.mutants())
    accepted: list[tuple[hostile.Mutant, str]] = []
    for mutant in mutants:
        instance = hostile.upload(hostile_orthanc, mutant.data)
        if instance is not None:
            accepted.append((mutant, instance))
    assert len(accepted) > len(mutants) * 0.8, "Orthanc refused most mutants: the generator is broken"

    def run(item: tuple[hostile.Mutant, str]) -> list[str]:
        mutant, instance = item
        dims = _dims(mutant.data)
        problems = []
        with requests.Session() as http:
            for suffix, query, fmt in _queries():
                url = f"{hostile_orthanc.url}/previewer/instances/{instance}{suffix}?{query}"
                try:
                    answer = http.get(url, timeout=TIMEOUT)
                except requests.RequestException as error:
                    problems.append(f"{mutant.name} {suffix}?{query}: {type(error).__name__}")
                    continue
                box = 32 if "size=32" in query else None
                why = check_answer(answer, fmt, dims if suffix != "/info" else None, box)
                if why:
                    problems.append(f"{mutant.name} {suffix}?{query}: {why}")
        return problems

    with ThreadPoolExecutor(8) as pool:
        problems = [p for found in pool.map(run, accepted) for p in found]
    assert not problems, "\n".join(problems[:40])
    assert hostile_orthanc.process is not None and hostile_orthanc.process.poll() is None
    assert hostile_orthanc.get("/system").status_code == 200
    assert "500" not in [line.split()[-1] for line in hostile_orthanc.log().splitlines()
                         if "HTTP status" in line]


def test_codestream_bombs_are_refused_before_decoding(hostile_orthanc: OrthancProcess) -> None:
    """A JPEG / JPEG-LS / J2K header claiming gigapixels (more than Rows x Columns) gets 415, fast, without memory growth."""
    bombs = [m for m in hostile.mutants() if m.name.endswith(("sof_65535x65535", "siz_60000x60000"))]
    assert len(bombs) == 3
    before = hostile_orthanc.rss_kb()
    for bomb in bombs:
        instance = hostile.upload(hostile_orthanc, bomb.data)
        assert instance is not None
        answer = hostile_orthanc.http.get(f"{hostile_orthanc.url}/previewer/instances/{instance}/png", timeout=10)
        assert answer.status_code == 415, (bomb.name, answer.text)
        assert "codestream" in answer.json()["error"] and "claims" in answer.json()["error"]
    assert hostile_orthanc.rss_kb() - before < 200_000


def test_low_megapixel_limit_gives_413_before_decoding(tmp_path: Path, plugin_path: Path) -> None:
    """With MaxMegapixels 0.01, CT_small (512x512 = 0.26 MP) gets 413 on every format; /info says why."""
    process = OrthancProcess(tmp_path, previewer={"MaxMegapixels": 0.01, "WarmOnIngest": False}).start()
    try:
        instance = process.upload(CT_SMALL)["ID"]
        for fmt in FORMATS:
            answer = process.get(f"/previewer/instances/{instance}/png?format={fmt}")
            assert answer.status_code == 413, answer.text
            assert "megapixels" in answer.json()["error"]
        info = process.get(f"/previewer/instances/{instance}/info").json()
        assert info["decodable"] is False and "megapixels" in info["reason"]
        # nothing was decoded: the cache holds only the remembered 413 (1 KiB), no 0.26 MP frame
        cache = process.get("/previewer/stats").json()["cache"]
        assert cache["entries"] <= 1 and cache["bytes"] <= 1024
    finally:
        process.stop()
