"""Orthanc's own /preview and /rendered answered by the previewer with "CoreRoutes", and untouched without it."""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from conftest import CT_SMALL, RGB_FILE
from orthanc_process import OrthancProcess

#: pydicom's JPEG-lossy.dcm: no decoder installed here decodes it (the renderer answers 415); core's does.
UNDECODABLE = Path(get_testdata_file("JPEG-lossy.dcm"))
ECG = Path(get_testdata_file("waveform_ecg.dcm"))
#: pydicom's emri_small.dcm: 10 MR frames.
MULTIFRAME = Path(get_testdata_file("emri_small.dcm"))


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc whose previewer answers the core routes."""
    process = OrthancProcess(tmp_path_factory.mktemp("core-routes"), probe=False,
                             previewer={"CoreRoutes": True, "WarmOnIngest": False})
    process.start()
    yield process
    process.stop()


def _get(orthanc: OrthancProcess, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    return orthanc.http.get(orthanc.url + path, params=params, headers=headers or {}, timeout=60)


def _image(answer: Any, media: str = "image/png") -> np.ndarray:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == media
    return np.asarray(Image.open(io.BytesIO(answer.content)))


@pytest.mark.parametrize("path", [CT_SMALL, RGB_FILE, ECG])
def test_preview_is_the_previewers_png(core: OrthancProcess, path: Path) -> None:
    """/instances/{id}/preview gives exactly the pixels of /previewer/instances/{id}/png (an ECG its paper page)."""
    instance = core.upload(path)["ID"]
    ours = _image(_get(core, f"/previewer/instances/{instance}/png"))
    assert np.array_equal(_image(_get(core, f"/instances/{instance}/preview")), ours)
    assert np.array_equal(_image(_get(core, f"/instances/{instance}/rendered")), ours)


def test_frames_are_zero_based(core: OrthancProcess) -> None:
    """/frames/1/preview and /frames/1/rendered are the previewer's frame 1; a missing frame is a JSON 404."""
    instance = core.upload(MULTIFRAME)["ID"]
    second = _image(_get(core, f"/previewer/instances/{instance}/frames/1/png"))
    assert not np.array_equal(second, _image(_get(core, f"/previewer/instances/{instance}/frames/0/png")))
    assert np.array_equal(_image(_get(core, f"/instances/{instance}/frames/1/preview")), second)
    assert np.array_equal(_image(_get(core, f"/instances/{instance}/frames/1/rendered")), second)
    missing = _get(core, f"/instances/{instance}/frames/10/rendered")
    assert missing.status_code == 404 and "frame" in missing.json()["error"]


def test_rendered_window_and_box(core: OrthancProcess) -> None:
    """window-center/width is window=C,W; width/height the box; one window value keeps the image's other."""
    instance = core.upload(CT_SMALL)["ID"]
    base = f"/previewer/instances/{instance}/png"
    rendered = f"/instances/{instance}/frames/0/rendered"
    windowed = _image(_get(core, rendered, **{"window-center": "40", "window-width": "400"}))
    assert np.array_equal(windowed, _image(_get(core, base, window="40,400")))
    assert not np.array_equal(windowed, _image(_get(core, base)))
    boxed = _image(_get(core, rendered, width="64", height="40", smooth="1"))
    assert np.array_equal(boxed, _image(_get(core, base, width="64", height="40")))
    assert boxed.shape == (40, 40)
    own = _get(core, f"/previewer/instances/{instance}/info").json()["default_window"]
    half = _image(_get(core, rendered, **{"window-width": "400"}))
    assert np.array_equal(half, _image(_get(core, base, window=f"{own['center']!r},400")))


def test_jpeg_on_request(core: OrthancProcess) -> None:
    """Accept: image/jpeg answers JPEG at the quality asked; the pixels are close to the PNG's."""
    instance = core.upload(CT_SMALL)["ID"]
    png = _image(_get(core, f"/instances/{instance}/preview")).astype(int)
    for path in (f"/instances/{instance}/preview", f"/instances/{instance}/rendered"):
        jpeg = _image(_get(core, path, {"Accept": "image/jpeg"}, quality="95"), "image/jpeg").astype(int)
        assert jpeg.shape == png.shape and np.abs(jpeg - png).mean() < 2
    assert _get(core, f"/instances/{instance}/preview", {"Accept": "image/jpeg"}, quality="0").status_code == 400


def test_what_the_renderer_cannot_decode_is_cores(core: OrthancProcess, orthanc: OrthancProcess) -> None:
    """JPEG-lossy.dcm, which no decoder here reads: core's own rendering (as core answers without the option)."""
    instance = core.upload(UNDECODABLE)["ID"]
    assert _get(core, f"/previewer/instances/{instance}/png").status_code == 415
    plain = orthanc.upload(UNDECODABLE)["ID"]
    cores = _image(_get(orthanc, f"/instances/{plain}/preview"))
    assert np.array_equal(_image(_get(core, f"/instances/{instance}/preview")), cores)
    jpeg = _image(_get(core, f"/instances/{instance}/rendered", {"Accept": "image/jpeg"}), "image/jpeg")
    assert jpeg.shape == cores.shape


def _broken(tmp_path: Path) -> Path:
    """CT_small claiming JPEG 2000 over its raw pixels: a synthesized file neither decoder reads."""
    ds = pydicom.dcmread(CT_SMALL)
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = pydicom.uid.JPEG2000Lossless
    ds.PixelData = pydicom.encaps.encapsulate([ds.PixelData[:5000]])
    path = tmp_path / "broken.dcm"
    ds.save_as(path, enforce_file_format=False)
    return path


def test_unsupported_images(core: OrthancProcess, tmp_path: Path) -> None:
    """An image neither decodes: core's 415, or with returnUnsupportedImage a 200 picture saying so."""
    instance = core.upload(_broken(tmp_path))["ID"]
    for path in (f"/instances/{instance}/preview", f"/instances/{instance}/rendered"):
        refused = _get(core, path)
        assert refused.status_code == 415 and refused.json()["error"]
        picture = _image(_get(core, path, returnUnsupportedImage=""))
        assert picture.shape == (128, 128) and picture.std() > 0


def test_upscaling_and_accept(core: OrthancProcess) -> None:
    """As core: width/height scale a 128 px CT up (nearest, or bilinear with smooth=1); Accept: application/pdf is 406."""
    instance = core.upload(CT_SMALL)["ID"]
    nearest = _image(_get(core, f"/instances/{instance}/rendered", width="256"))
    assert nearest.shape == (256, 256)
    assert np.array_equal(nearest[::2, ::2], _image(_get(core, f"/instances/{instance}/rendered")))
    smooth = _image(_get(core, f"/instances/{instance}/rendered", height="256", smooth="1"))
    assert smooth.shape == (256, 256) and not np.array_equal(smooth, nearest)
    refused = _get(core, f"/instances/{instance}/preview", {"Accept": "application/pdf"})
    assert refused.status_code == 406 and "image/png" in refused.json()["error"]


def test_unknown_parameters_are_ignored_as_core_ignores_them(core: OrthancProcess) -> None:
    """Core ignores what it does not know: so do these routes."""
    instance = core.upload(CT_SMALL)["ID"]
    assert _get(core, f"/instances/{instance}/preview", whatever="1").status_code == 200


def test_core_answers_are_untouched_without_the_option(orthanc: OrthancProcess) -> None:
    """Without "CoreRoutes" /preview is core's: its min-max stretch of CT_small, not the previewer's window."""
    instance = orthanc.upload(CT_SMALL)["ID"]
    core = _image(_get(orthanc, f"/instances/{instance}/preview"))
    ours = _image(_get(orthanc, f"/previewer/instances/{instance}/png"))
    assert not np.array_equal(core, ours)
    stored = pydicom.dcmread(CT_SMALL).pixel_array.astype(float)
    stretched = np.rint((stored - stored.min()) / (stored.max() - stored.min()) * 255)
    assert np.abs(core.astype(float) - stretched).max() <= 1
