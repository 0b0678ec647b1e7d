"""Waveforms through a real Orthanc: /waveform values and CSV, the PNG and thumbnail, /info, and hostile files."""
from __future__ import annotations

import copy
import csv
import io
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from conftest import CT_SMALL
from orthanc_process import OrthancProcess
from previewer.objects import waveform, waveform_page

#: pydicom's 12-lead ECG: RHYTHM (10 s) and MEDIAN BEAT (1.2 s) groups, 12 leads at 1000 Hz.
ECG_FILE = get_testdata_file("waveform_ecg.dcm")


def _store(orthanc: OrthancProcess, ds: pydicom.Dataset) -> str:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    answer = orthanc.http.post(orthanc.url + "/instances", data=buffer.getvalue(), timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ID"])


@pytest.fixture(scope="module")
def ecg_id(orthanc: OrthancProcess) -> str:
    return str(orthanc.upload(ECG_FILE)["ID"])


def _get(orthanc: OrthancProcess, path: str, **params: Any) -> Any:
    return orthanc.http.get(orthanc.url + path, params=params, timeout=60)


def _png(answer: Any) -> np.ndarray:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(answer.content)))


@pytest.mark.parametrize("group", [0, 1])
def test_values_equal_pydicoms(orthanc: OrthancProcess, ecg_id: str, group: int) -> None:
    """/waveform?group=G gives rate, count, label, each lead's label and UCUM unit, and pydicom's values."""
    answer = _get(orthanc, f"/previewer/instances/{ecg_id}/waveform", group=group)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    ds = pydicom.dcmread(ECG_FILE)
    expected = ds.waveform_array(group)
    assert (body["frequency"], body["samples"], body["label"]) == (1000.0, expected.shape[0], ["RHYTHM", "MEDIAN BEAT"][group])
    assert [c["label"] for c in body["channels"]][:3] == ["Lead I (Einthoven)", "Lead II", "Lead III"]
    assert {c["unit"] for c in body["channels"]} == {"uV"}
    found = np.array([c["values"] for c in body["channels"]]).T
    assert np.array_equal(found, expected)


def test_csv_has_a_time_column_and_the_same_values(orthanc: OrthancProcess, ecg_id: str) -> None:
    """format=csv: a header naming each channel and unit, t = n / 1000 s, then the values of the JSON."""
    answer = _get(orthanc, f"/previewer/instances/{ecg_id}/waveform", group=1, format="csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:2] == ["time_s", "Lead I (Einthoven) (uV)"] and len(rows[0]) == 13
    table = np.array(rows[1:], dtype=float)
    assert table.shape == (1200, 13)
    assert np.allclose(table[:, 0], np.arange(1200) / 1000.0, rtol=0, atol=1e-12)
    assert np.array_equal(table[:, 1:], pydicom.dcmread(ECG_FILE).waveform_array(1))


def test_png_is_the_paper_page(orthanc: OrthancProcess, ecg_id: str) -> None:
    """The PNG route answers the 3x4 + rhythm page in rgb24, the box keeping its proportions."""
    picture = _png(_get(orthanc, f"/previewer/instances/{ecg_id}/png"))
    expected = waveform_page.ecg_page(waveform.multiplex(pydicom.dcmread(ECG_FILE), 0), None, None)
    assert picture.shape == (560, 1040, 3)
    assert np.array_equal(picture, expected)
    assert _png(_get(orthanc, f"/previewer/instances/{ecg_id}/png", size=520)).shape == (280, 520, 3)
    assert _png(_get(orthanc, f"/previewer/instances/{ecg_id}/png", height=140)).shape == (140, 260, 3)
    assert _png(_get(orthanc, f"/previewer/instances/{ecg_id}/png", format="gray8", size=260)).shape == (140, 260)
    assert _png(_get(orthanc, f"/previewer/instances/{ecg_id}/png", group=1)).shape == (380 * 4, 60 * 4, 3)


def test_thumbnail_views(orthanc: OrthancProcess, ecg_id: str) -> None:
    """view=thumbnail and DICOMweb's /thumbnail are lead II's first 2.5 s."""
    thumb = _png(_get(orthanc, f"/previewer/instances/{ecg_id}/png", view="thumbnail", size=128))
    assert thumb.shape == (60, 128, 3)
    ds = pydicom.dcmread(ECG_FILE)
    expected = waveform_page.thumbnail(waveform.multiplex(ds, 0), True, False, 128, 128)
    assert np.array_equal(thumb, expected)
    web = (f"/previewer/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
           f"/instances/{ds.SOPInstanceUID}/thumbnail")
    assert _png(_get(orthanc, web)).shape[1] == 128


def test_info_names_groups_channels_durations_and_rates(orthanc: OrthancProcess, ecg_id: str) -> None:
    """/info: kind waveform, waveform_kind ecg, each group with its channels, duration and rate."""
    info = _get(orthanc, f"/previewer/instances/{ecg_id}/info").json()
    assert (info["kind"], info["waveform_kind"], info["decodable"]) == ("waveform", "ecg", True)
    assert info["waveform"] == f"/previewer/instances/{ecg_id}/waveform"
    assert [(g["label"], g["duration"], g["frequency"]) for g in info["groups"]] == [
        ("RHYTHM", 10.0, 1000.0), ("MEDIAN BEAT", 1.2, 1000.0)]
    assert [c["lead"] for c in info["groups"][0]["channels"]][6:] == ["V1", "V2", "V3", "V4", "V5", "V6"]


def test_the_study_lists_a_waveform_series(orthanc: OrthancProcess, ecg_id: str) -> None:
    """The viewer's study API gives the ECG series the kind 'waveform'."""
    study = orthanc.http.get(f"{orthanc.url}/instances/{ecg_id}/study", timeout=30).json()["ID"]
    series = _get(orthanc, f"/previewer/api/studies/{study}").json()["series"]
    assert [s["kind"] for s in series] == ["waveform"]


@pytest.mark.parametrize(("path", "params", "status", "words"), [
    ("waveform", {"group": "2"}, 404, "0..1"),
    ("waveform", {"group": "x"}, 400, "group"),
    ("waveform", {"format": "xml"}, 400, "format"),
    ("waveform", {"window": "40,400"}, 400, "window"),
    ("png", {"group": "9"}, 404, "0..1"),
    ("png", {"window": "40,400"}, 400, "window"),
    ("png", {"view": "poster"}, 400, "view"),
    ("png", {"page": "2"}, 400, "page"),
    ("png", {"format": "gray16"}, 400, "gray16"),
    ("frames/1/png", {}, 404, "frame 1"),
])
def test_bad_parameters_are_named(orthanc: OrthancProcess, ecg_id: str, path: str, params: dict[str, str],
                                  status: int, words: str) -> None:
    """Each bad parameter is a 4xx whose JSON names it."""
    answer = _get(orthanc, f"/previewer/instances/{ecg_id}/{path}", **params)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]


def test_an_image_is_not_a_waveform(orthanc: OrthancProcess) -> None:
    """/waveform of a CT is 415, and group= on its PNG is 400."""
    ct = str(orthanc.upload(CT_SMALL)["ID"])
    answer = _get(orthanc, f"/previewer/instances/{ct}/waveform")
    assert answer.status_code == 415 and "not a waveform" in answer.json()["error"]
    assert _get(orthanc, f"/previewer/instances/{ct}/png", group=0).status_code == 400


def _hostile(change: Any) -> pydicom.Dataset:
    """pydicom's ECG with its first group broken (a synthesized mutant: no real file is broken this way)."""
    ds = copy.deepcopy(pydicom.dcmread(ECG_FILE))
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    change(ds.WaveformSequence[0])
    return ds


MUTANTS = {
    "channel count": lambda g: setattr(g, "NumberOfWaveformChannels", 40),
    "bits": lambda g: setattr(g, "WaveformBitsAllocated", 12),
    "sensitivity 0": lambda g: setattr(g.ChannelDefinitionSequence[0], "ChannelSensitivity", 0),
    "sensitivity NaN": lambda g: setattr(g.ChannelDefinitionSequence[0], "ChannelSensitivity", "NaN"),
    "truncated": lambda g: setattr(g, "WaveformData", g.WaveformData[:999]),
    "no frequency": lambda g: delattr(g, "SamplingFrequency"),
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_hostile_waveforms_never_give_a_5xx(orthanc: OrthancProcess, name: str) -> None:
    """Broken counts, bits, sensitivities and data: every route answers a 2xx or a JSON 4xx, and Orthanc lives."""
    instance = _store(orthanc, _hostile(MUTANTS[name]))
    for path, params in (("waveform", {}), ("waveform", {"format": "csv"}), ("png", {}),
                         ("png", {"view": "thumbnail"}), ("info", {})):
        answer = _get(orthanc, f"/previewer/instances/{instance}/{path}", **params)
        assert answer.status_code < 500, (path, answer.text)
        if answer.status_code >= 400:
            assert answer.json()["error"]
    assert orthanc.http.get(orthanc.url + "/system", timeout=10).status_code == 200
