"""Every corpus image, uploaded to a real Orthanc, renders through the plugin.

Frames: all of them up to 12, else a sample (first, second, middle, last).
Frame 0 is also asked in every output format.  Files that cannot render get
the documented 4xx with a JSON message; the lists below say why.  Several
corpus files share a SOP Instance UID, so this Orthanc overwrites instances
and each file is rendered right after its upload.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
import requests
from PIL import Image
from pydicom.uid import generate_uid

from conftest import replacing_orthanc
from orthanc_process import OrthancProcess
from pixels_corpus import image_files
from test_pixels_corpus import EXPECTED_FAILURES, _frames

#: Files Orthanc itself refuses at upload, so the plugin never sees them.
REFUSED_BY_ORTHANC: dict[str, str] = {
    "pydicom/MR_truncated.dcm": "DCMTK cannot parse it: the pixel data is truncated",
    "pydicom/SC_rgb_jpeg.dcm": "DCMTK cannot parse it ('Cannot parse an invalid DICOM file'); "
                               "pydicom reads it, but cannot write it back either",
    "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm": "DCMTK cannot parse it: the file is truncated",
}
FORMATS = ("gray8", "gray16", "signed16", "rgb24", "rgba32")
FILES = image_files()


def _expected(name: str) -> str:
    """What the lists say of a corpus file: 'refused' (by Orthanc), 'expected-failure' or 'rendered'."""
    if name in REFUSED_BY_ORTHANC:
        return "refused"
    return "expected-failure" if name in EXPECTED_FAILURES else "rendered"


@pytest.fixture(scope="module")
def corpus_orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc that replaces instances: several corpus files share a SOP Instance UID."""
    yield from replacing_orthanc(tmp_path_factory, "corpus")


def _with_identifiers(path: Path) -> bytes:
    """The file with the identifiers Orthanc requires, where missing.

    Only PatientID and the study, series and SOP instance UIDs are added; the
    pixel data and every other attribute stay as they are.
    """
    ds = pydicom.dcmread(path, force=True)
    ds.PatientID = ds.get("PatientID") or "CORPUS"
    ds.StudyInstanceUID = ds.get("StudyInstanceUID") or generate_uid()
    ds.SeriesInstanceUID = ds.get("SeriesInstanceUID") or generate_uid()
    ds.SOPInstanceUID = ds.get("SOPInstanceUID") or generate_uid()
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def _upload(orthanc: OrthancProcess, path: Path) -> str | None:
    """Upload a file; when Orthanc lacks identifiers (404 Inexistent tag), add them and retry."""
    answer = orthanc.http.post(orthanc.url + "/instances", data=Path(path).read_bytes(), timeout=120)
    if answer.status_code == 404:
        answer = orthanc.http.post(orthanc.url + "/instances", data=_with_identifiers(path), timeout=120)
    return str(answer.json()["ID"]) if answer.status_code == 200 else None


def _check_png(answer: requests.Response, what: str) -> Image.Image:
    assert answer.status_code == 200, f"{what}: {answer.status_code} {answer.text[:300]}"
    assert answer.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(answer.content))
    image.load()
    return image


@pytest.mark.parametrize(("name", "path"), FILES, ids=[name for name, _ in FILES])
def test_renders_through_the_plugin(corpus_orthanc: OrthancProcess, name: str, path: Path) -> None:
    """The file renders at its frames and in every format, or fails as documented: Orthanc refuses
    exactly the files REFUSED_BY_ORTHANC lists, and the plugin answers the EXPECTED_FAILURES with their 4xx."""
    orthanc = corpus_orthanc
    instance_id = _upload(orthanc, path)
    if instance_id is None or name in REFUSED_BY_ORTHANC:
        assert instance_id is None, f"Orthanc stores {name} now: remove it from REFUSED_BY_ORTHANC"
        assert name in REFUSED_BY_ORTHANC, f"Orthanc refused {name}"
        return
    base = f"/previewer/instances/{instance_id}"
    if name in EXPECTED_FAILURES:
        answer = orthanc.get(base + "/frames/0/png")
        assert 400 <= answer.status_code < 500 and answer.status_code == EXPECTED_FAILURES[name][0].status
        assert answer.json()["error"]
        return
    info = orthanc.get(base + "/info").json()
    for frame in _frames(int(info["frames"])):
        image = _check_png(orthanc.get(f"{base}/frames/{frame}/png"), f"{name} frame {frame}")
        assert image.size == (info["columns"], info["rows"])
    for pixel_format in FORMATS:
        answer = orthanc.get(base + "/frames/0/png", params={"format": pixel_format})
        if answer.status_code == 400:
            # signed16 is refused for colour and for values that int16 cannot hold.
            assert pixel_format == "signed16", f"{name} {pixel_format}: {answer.text}"
            assert "signed16" in answer.json()["error"]
            continue
        image = _check_png(answer, f"{name} {pixel_format}")
        assert image.size == (info["columns"], info["rows"])
    assert orthanc.get(f"{base}/frames/{info['frames']}/png").status_code == 404


def test_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Every file Orthanc is listed to refuse is in the corpus; the outcomes the lists give are printed
    (each file's test above checks its own)."""
    names = {name for name, _ in FILES}
    assert set(REFUSED_BY_ORTHANC) <= names
    counts = {kind: sum(1 for name in names if _expected(name) == kind)
              for kind in ("rendered", "expected-failure", "refused")}
    with capsys.disabled():
        print(f"\nthrough Orthanc: rendered={counts['rendered']} expected-failure={counts['expected-failure']} "
              f"refused-by-orthanc={counts['refused']} total={len(FILES)}")
    assert counts["rendered"] > 150
