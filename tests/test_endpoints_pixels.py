"""The lossless frame route for the viewer's own pipeline (previewer/pixels.py), without Orthanc."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from conftest import CT_SMALL, RGB_FILE
from pixels_corpus import grey_corpus
from previewer.plugin.endpoints import images, pixels
from previewer.plugin.store import Store, UnknownInstance
from previewer.plugin.cache import LruCache
from previewer.pixels import reader, render
from previewer.pixels.meta import Lut, Rescale
from previewer.pixels.output import grey_levels
from previewer.pixels.params import RenderParams, Window
from previewer.pixels.voi import apply_voi_lut, apply_window
from previewer.plugin.http import HttpError, Request

CT_ID = "11111111-22222222-33333333-44444444-55555555"
RGB_ID = "aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-eeeeeeee"
RTPLAN_ID = "99999999-88888888-77777777-66666666-55555555"
RTPLAN = Path(get_testdata_file("rtplan.dcm"))


GREY = grey_corpus()


def _client_display(head: dict[str, Any], values: np.ndarray, params: RenderParams) -> np.ndarray:
    """What a client computes from the header alone, with the server's own VOI and output functions."""
    modality = values.astype(np.float64) * head["rescale"]["slope"] + head["rescale"]["intercept"]
    if values.dtype.kind in "ui" and float(head["rescale"]["slope"]).is_integer() \
            and float(head["rescale"]["intercept"]).is_integer():
        modality = values.astype(np.int64) * int(head["rescale"]["slope"]) + int(head["rescale"]["intercept"])

    def lut(item: dict[str, Any]) -> Lut:
        return Lut(item["first_mapped"], np.asarray(item["data"], np.int64), item["bits"], item["explanation"])

    if params.window is not None:
        transfer: Any = lambda x: apply_window(x, params.window)   # noqa: E731
    else:
        choice: dict[str, Any]
        if params.voi is not None:
            windows = head["windows"]
            choice = {"window": windows[params.voi]} if params.voi < len(windows) \
                else {"voi_lut": params.voi - len(windows)}
        else:
            choice = head["default"]
        if "window" in choice:
            w = choice["window"]
            transfer = lambda x: apply_window(x, Window(w["center"], w["width"], w["function"]))   # noqa: E731
        else:
            item = lut(head["voi_luts"][choice["voi_lut"]])
            transfer = lambda x: apply_voi_lut(x, item)   # noqa: E731
    return grey_levels(modality, transfer, 255, head["inverse"] != params.invert)


@pytest.mark.parametrize(("name", "path"), GREY, ids=[name for name, _ in GREY])
def test_corpus_frame_is_exact(name: str, path: Path) -> None:
    """Every grayscale corpus frame: the values give back the server's modality values exactly, and the
    header alone reproduces the server's gray8 rendering (default, every stored VOI, inverted) with
    overlays off: the client draws no overlay planes (the viewer asks the server for those)."""
    frame = render.modality_frame(reader.read_dataset(path.read_bytes()), 0)
    head, values = pixels.parse(pixels.body(frame))
    assert (head["rows"], head["columns"]) == frame.array.shape
    slope, intercept = head["rescale"]["slope"], head["rescale"]["intercept"]
    rebuilt = values.astype(np.float64) * slope + intercept
    assert np.array_equal(rebuilt, frame.array.astype(np.float64), equal_nan=True)
    choices = [RenderParams(overlays=False), RenderParams(invert=True, overlays=False),
               *(RenderParams(voi=k, overlays=False) for k in range(len(frame.windows) + len(frame.voi_luts)))]
    for params in choices:
        expected = render.display(frame, params).array
        assert np.array_equal(_client_display(head, values, params), expected), params


def test_fractional_rescale_sends_stored_values() -> None:
    """A fractional rescale is undone exactly: 16-bit stored values travel with the rescale."""
    stored = np.arange(0, 4000, dtype=np.uint16).reshape(40, 100)
    frame = _frame(stored.astype(np.float64) * 0.25 - 1.5, Rescale(0.25, -1.5))
    values, rescale, kind = pixels.transported(frame)
    assert (kind, values.dtype.name, rescale) == ("stored", "uint16", Rescale(0.25, -1.5))
    assert np.array_equal(values, stored)


def test_modality_lut_sends_modality_values() -> None:
    """After a Modality LUT Sequence the modality values travel, with an identity rescale."""
    frame = dataclasses.replace(_frame(np.array([[5, 900], [7, 65535]], np.int64), Rescale()),
                                modality_lut_used=True)
    values, rescale, kind = pixels.transported(frame)
    assert (kind, values.dtype.name, rescale.slope, rescale.intercept) == ("modality", "uint16", 1.0, 0.0)


def test_inexact_rescale_sends_modality_values() -> None:
    """Float values that no rescale gives back exactly travel as they are."""
    frame = _frame(np.array([[0.1, 0.2], [0.3, 1e-9]]), Rescale(0.7, 0.1))
    values, rescale, kind = pixels.transported(frame)
    assert (kind, values.dtype.name, rescale.slope) == ("modality", "float64", 1.0)


def _frame(array: np.ndarray, rescale: Rescale) -> render.ModalityFrame:
    return render.ModalityFrame(index=0, array=array, photometric="MONOCHROME2", color_bits=16, palette=None,
                                windows=(), voi_luts=(), padding_mask=None, inverse=False, rescale=rescale,
                                modality_lut_used=False)


class FakeStore:
    def __init__(self) -> None:
        self.files = {CT_ID: CT_SMALL.read_bytes(), RGB_ID: Path(RGB_FILE).read_bytes(),
                      RTPLAN_ID: RTPLAN.read_bytes()}

    def dicom(self, instance_id: str) -> bytes:
        if instance_id not in self.files:
            raise UnknownInstance(instance_id)
        return self.files[instance_id]

    def version(self, instance_id: str) -> str | None:
        return "v1" if instance_id in self.files else None


@pytest.fixture
def store() -> Store:
    fake = FakeStore()
    return Store(dicom=fake.dicom, version=fake.version, cache=LruCache(64 * 2**20))


def _get(store: Store, instance_id: str, frame: int = 0, query: dict[str, str] | None = None,
         headers: dict[str, str] | None = None) -> Any:
    request = Request("GET", "/", {"id": instance_id, "frame": frame}, query or {}, headers or {})
    return pixels.frame_pixels(store, request)


class TestEndpoint:
    def test_ct_values_etag_and_304(self, store: Store) -> None:
        """CT_small: its stored int16 values with rescale, an ETag, and 304 for If-None-Match."""
        answer = _get(store, CT_ID)
        assert (answer.status, answer.media_type) == (200, "application/octet-stream")
        head, values = pixels.parse(answer.body)
        ds = reader.read_dataset(CT_SMALL.read_bytes())
        assert np.array_equal(values, ds.pixel_array)
        assert head["values"] == "stored" and head["rescale"]["slope"] == float(ds.RescaleSlope)
        again = _get(store, CT_ID, headers={"if-none-match": answer.headers["ETag"]})
        assert (again.status, again.body) == (304, b"")

    def test_colour_is_shown_by_png(self, store: Store) -> None:
        """An RGB frame gets a JSON answer that sends the viewer to the PNG route, not an error."""
        answer = _get(store, RGB_ID)
        assert (answer.status, answer.media_type) == (200, "application/json")
        assert json.loads(answer.body)["show"] == "png" and json.loads(answer.body)["reason"] == "colour"

    def test_errors_are_those_of_the_png_route(self, store: Store) -> None:
        """No pixel data (415), a frame out of range and an unknown instance (404): as /png says."""
        for instance_id, frame in ((RTPLAN_ID, 0), (CT_ID, 1), ("ffffffff-ffffffff-ffffffff-ffffffff-ffffffff", 0)):
            with pytest.raises(HttpError) as ours:
                _get(store, instance_id, frame)
            with pytest.raises(HttpError) as png:
                images.frame_png(store, Request("GET", "/", {"id": instance_id, "frame": frame}, {}, {}))
            assert (ours.value.status, ours.value.message) == (png.value.status, png.value.message)

    def test_unknown_parameter_is_400(self, store: Store) -> None:
        """The route takes no parameter."""
        with pytest.raises(HttpError) as error:
            _get(store, CT_ID, query={"window": "40,400"})
        assert error.value.status == 400
