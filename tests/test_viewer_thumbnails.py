"""Series thumbnails (static/thumbnails.js) in Chromium against a real Orthanc: a Segmentation's own picture.

Files: CT_small.dcm and its second slice with the highdicom BINARY SEG over
them (tests/objects_segmentation.py), and that SEG with its first segment's
Segment Number deleted by pydicom, in a series of its own (a hostile SEG).
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import generate_uid

from conftest import replacing_orthanc
from orthanc_process import OrthancProcess
from test_viewer_client import Page, browser, playwright  # noqa: F401  (fixtures reused)

import objects_segmentation as make

#: What Chromium logs for the hostile SEG's picture, which the server refuses (415).
REFUSED = "Failed to load resource: the server responded with a status of 415 (Unsupported Media Type)"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc with the plugin, replacing instances, without warm-up."""
    yield from replacing_orthanc(tmp_path_factory, "thumbnails")


@pytest.fixture(scope="module")
def study(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The CT slices, the BINARY SEG and the hostile SEG (no Segment Number) in one study, uploaded once."""
    folder = tmp_path_factory.mktemp("thumbfiles")
    paths = {path.stem: path for path in make.write_all(folder)}
    uploaded = {name: orthanc.upload(paths[name]) for name in ("ct1", "ct2", "seg_binary")}
    hostile = make.segmentation("BINARY")
    del hostile.SegmentSequence[0].SegmentNumber
    hostile.SeriesInstanceUID = generate_uid(entropy_srcs=["hostile SEG series"])
    hostile.SOPInstanceUID = generate_uid(entropy_srcs=["hostile SEG instance"])
    hostile.file_meta.MediaStorageSOPInstanceUID = hostile.SOPInstanceUID
    hostile.save_as(folder / "hostile.dcm", enforce_file_format=True)
    uploaded["hostile"] = orthanc.upload(folder / "hostile.dcm")
    return uploaded


@pytest.fixture(scope="module")
def strip(browser: Any, orthanc: OrthancProcess, study: dict[str, Any]) -> Iterator[Page]:  # noqa: F811
    """One viewer page on the CT series, its strip showing the study's series (2D renderer);
    the only console error allowed is the hostile picture's 415."""
    wrapped = Page(browser, orthanc, "canvas")
    try:
        wrapped.goto(f"#/series/{study['ct1']['ParentSeries']}")
        yield wrapped
    finally:
        wrapped.close()
    assert [e for e in wrapped.errors if e != REFUSED] == []


def _card(series: str) -> str:
    return f".series-card[data-series='{series}']"


def _wait_picture(page: Page, series: str) -> dict[str, Any]:
    """Wait until the series' card shows its loaded picture; its src, size and pixels (through a canvas)."""
    page.page.wait_for_function(
        """(selector) => { const img = document.querySelector(selector);
           return img !== null && img.complete && img.naturalWidth > 0; }""",
        arg=f".series-strip {_card(series)} .thumb-box[data-state='ready'] img.thumb")
    found: dict[str, Any] = page.page.evaluate("""(selector) => {
        const img = document.querySelector(selector);
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        return { src: img.src, width: img.naturalWidth, height: img.naturalHeight,
                 rgba: Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data) };
    }""", f".series-strip {_card(series)} img.thumb")
    return found


def _server_png(orthanc: OrthancProcess, src: str) -> np.ndarray:
    answer = orthanc.http.get(src, timeout=30)
    assert answer.status_code == 200, answer.text
    return np.asarray(Image.open(io.BytesIO(answer.content)).convert("RGB"))


def test_strip_shows_the_segmentation_picture(strip: Page, orthanc: OrthancProcess, study: dict[str, Any]) -> None:
    """The viewer's strip: the SEG card's <img> has the SEG's view=thumbnail PNG route as src, loaded, with its pixels."""
    seg = study["seg_binary"]
    found = _wait_picture(strip, seg["ParentSeries"])
    url = urlsplit(found["src"])
    assert url.path == f"/previewer/instances/{seg['ID']}/frames/0/png"
    assert sorted(url.query.split("&")) == ["size=128", "view=thumbnail"]
    assert found["width"] == 128 and found["height"] == 128
    shown = np.array(found["rgba"], np.uint8).reshape(128, 128, 4)[..., :3]
    assert (shown == _server_png(orthanc, found["src"])).all()
    card = strip.page.locator(f".series-strip {_card(seg['ParentSeries'])}")
    assert "object-series" in (card.get_attribute("class") or "") and card.get_attribute("href") is None
    assert "Segmentation" in strip.text(f"{_card(seg['ParentSeries'])} .series-count")


def test_hostile_segmentation_keeps_its_card(strip: Page, orthanc: OrthancProcess, study: dict[str, Any]) -> None:
    """A SEG without a Segment Number: the server answers a JSON 415, and its strip card says 'Segmentation', no image."""
    hostile = study["hostile"]
    answer = orthanc.http.get(f"{orthanc.url}/previewer/instances/{hostile['ID']}/frames/0/png?size=128&view=thumbnail",
                              timeout=30)
    assert answer.status_code == 415 and "Segment Number" in answer.json()["error"]
    box = f".series-strip {_card(hostile['ParentSeries'])} .thumb-box"
    strip.page.wait_for_function(
        "(selector) => document.querySelector(selector)?.dataset.state === 'card'", arg=box)
    assert strip.page.locator(f"{box} img").count() == 0
    assert strip.text(f"{box} .thumb-kind") == "Segmentation"
