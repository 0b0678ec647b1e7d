"""A Segmentation's own thumbnail (view=thumbnail on its PNG route) through a real Orthanc.

Files: the highdicom SEGs over CT_small.dcm of tests/objects_segmentation.py,
and pydicom's liver_1frame.dcm / liver_expb_1frame.dcm, whose CT is not in
the corpus (so they are drawn on black).  The hostile ones are those SEGs
with their Segment Sequence broken by pydicom.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from conftest import replacing_orthanc
from orthanc_process import OrthancProcess
from previewer.pixels.color import lab_to_rgb
from previewer.plugin.endpoints.segmentations import HEADER, orthanc_instance_id

import objects_segmentation as make

LIVER = Path(get_testdata_file("liver_1frame.dcm"))
LIVER_BIG_ENDIAN = Path(get_testdata_file("liver_expb_1frame.dcm"))


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc with the plugin that replaces instances, without warm-up."""
    yield from replacing_orthanc(tmp_path_factory, "segthumbs")


@pytest.fixture(scope="module")
def stored(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The two CT slices, the BINARY and FRACTIONAL SEGs over them and the two liver SEGs, uploaded once."""
    paths = make.write_all(tmp_path_factory.mktemp("segfiles"))
    ids = {path.stem: orthanc.upload(path)["ID"] for path in paths}
    ids["liver"] = orthanc.upload(LIVER)["ID"]
    ids["liver_be"] = orthanc.upload(LIVER_BIG_ENDIAN)["ID"]
    return {"ids": ids, "paths": {path.stem: path for path in paths}}


def _get(orthanc: OrthancProcess, path: str, **headers: str) -> Any:
    return orthanc.http.get(orthanc.url + path, headers=headers, timeout=60)


def _png(answer: Any) -> np.ndarray:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("image/png")
    return np.asarray(Image.open(io.BytesIO(answer.content)))


def _thumbnail(orthanc: OrthancProcess, instance: str, query: str = "") -> Any:
    return _get(orthanc, f"/previewer/instances/{instance}/png?view=thumbnail{query}")


def _colours(path: Path) -> dict[int, tuple[int, int, int]]:
    """Segment number -> sRGB of its Recommended Display CIELab Value, read with pydicom."""
    ds = pydicom.dcmread(path)
    return {int(s.SegmentNumber): lab_to_rgb(tuple(int(v) for v in s.RecommendedDisplayCIELabValue))
            for s in ds.SegmentSequence}


def _masks_on(path: Path, sop_uid: str) -> dict[int, np.ndarray]:
    """Segment number -> coverage (stored value / maximum) of the SEG's frames on one image, from pydicom's pixel_array."""
    ds = pydicom.dcmread(path)
    frames = np.asarray(ds.pixel_array).reshape(-1, ds.Rows, ds.Columns).astype(float)
    top = float(ds.get("MaximumFractionalValue", 1)) if ds.SegmentationType == "FRACTIONAL" else 1.0
    found: dict[int, np.ndarray] = {}
    for index, group in enumerate(ds.PerFrameFunctionalGroupsSequence):
        source = group.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        if source == sop_uid:
            found[int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)] = frames[index] / top
    return found


def test_orthanc_ids_are_computed_as_orthanc_does(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """The ID computed from CT_small's Patient ID and UIDs is the one Orthanc gave it on upload."""
    ds = pydicom.dcmread(stored["paths"]["ct1"])
    assert orthanc_instance_id(ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID,
                               ds.SOPInstanceUID) == stored["ids"]["ct1"]


def test_binary_segments_over_the_image(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """highdicom BINARY SEG: CT_small (2 segments, the slice with most) under it; each mask in its colour, the rest the CT's PNG."""
    ids, path = stored["ids"], stored["paths"]["seg_binary"]
    answer = _thumbnail(orthanc, ids["seg_binary"])
    picture = _png(answer)
    assert answer.headers[HEADER] == f"over {ids['ct1']} frame 0; segments 1, 2"
    ct = _png(_get(orthanc, f"/previewer/instances/{ids['ct1']}/png"))
    masks = _masks_on(path, pydicom.dcmread(stored["paths"]["ct1"]).SOPInstanceUID)
    colours = _colours(path)
    assert picture.shape == ct.shape + (3,) and set(masks) == {1, 2}
    only1 = (masks[1] == 1) & (masks[2] == 0)
    assert only1.any() and (picture[only1] == colours[1]).all()
    assert (picture[masks[2] == 1] == colours[2]).all()       # segment 2 is painted last
    outside = (masks[1] == 0) & (masks[2] == 0)
    assert (picture[outside] == ct[outside][:, None]).all()


def test_downscaled_thumbnail(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """size=64: where a 2x2 block is all inside a mask the colour, all outside the CT's size=64 PNG."""
    ids, path = stored["ids"], stored["paths"]["seg_binary"]
    picture = _png(_thumbnail(orthanc, ids["seg_binary"], "&size=64"))
    ct = _png(_get(orthanc, f"/previewer/instances/{ids['ct1']}/png?size=64"))
    masks = {n: m.reshape(64, 2, 64, 2).mean(axis=(1, 3))
             for n, m in _masks_on(path, pydicom.dcmread(stored["paths"]["ct1"]).SOPInstanceUID).items()}
    colours = _colours(path)
    assert picture.shape == (64, 64, 3)
    assert (picture[(masks[1] == 1) & (masks[2] == 0)] == colours[1]).all()
    outside = (masks[1] == 0) & (masks[2] == 0)
    assert (picture[outside] == ct[outside][:, None]).all()


def test_fractional_coverage_blends(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """highdicom FRACTIONAL SEG (probability 0.5): the colour blended half-way over the CT, within 1 level."""
    ids, path = stored["ids"], stored["paths"]["seg_fractional"]
    picture = _png(_thumbnail(orthanc, ids["seg_fractional"])).astype(float)
    ct = _png(_get(orthanc, f"/previewer/instances/{ids['ct1']}/png")).astype(float)[..., None].repeat(3, axis=2)
    masks = _masks_on(path, pydicom.dcmread(stored["paths"]["ct1"]).SOPInstanceUID)
    inside = (masks[1] > 0) & (masks[2] == 0)
    expected = ct + masks[1][..., None] * (np.array(_colours(path)[1], float) - ct)
    assert inside.any() and np.abs(picture[inside] - expected[inside]).max() <= 1


def test_liver_on_black(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """pydicom's liver_1frame.dcm (its CT is not stored): the mask in its CIELab colour on black; the big-endian copy alike."""
    ds = pydicom.dcmread(LIVER)
    answer = _thumbnail(orthanc, stored["ids"]["liver"])
    picture = _png(answer)
    mask = np.asarray(ds.pixel_array) == 1
    assert answer.headers[HEADER].startswith("on black: image ") and "is not stored" in answer.headers[HEADER]
    assert (picture[mask] == _colours(LIVER)[1]).all() and (picture[~mask] == 0).all()
    assert (_png(_thumbnail(orthanc, stored["ids"]["liver_be"])) == picture).all()


def test_dicomweb_thumbnail_is_the_same_picture(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """DICOMweb's instance thumbnail of the BINARY SEG (its middle frame, the 128 box) is the view=thumbnail picture."""
    ds = pydicom.dcmread(stored["paths"]["seg_binary"])
    web = _get(orthanc, f"/previewer/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
                        f"/instances/{ds.SOPInstanceUID}/thumbnail", Accept="image/png")
    assert (_png(web) == _png(_thumbnail(orthanc, stored["ids"]["seg_binary"], "&size=128"))).all()


def test_parameters_and_frames(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """gray8 and invert apply to the picture, padding is a 400 and a frame beyond the SEG's a 404, both JSON."""
    seg = stored["ids"]["seg_binary"]
    colour = _png(_thumbnail(orthanc, seg))
    grey = _png(_thumbnail(orthanc, seg, "&format=gray8"))
    weights = np.array([0.299, 0.587, 0.114])
    assert grey.ndim == 2 and np.abs(grey - colour.astype(float) @ weights).max() <= 1
    assert (_png(_thumbnail(orthanc, seg, "&invert=1")) == 255 - colour).all()
    for query, status, word in (("&padding=transparent", 400, "padding"), ("&segmentation=" + seg, 400, "segmentation")):
        answer = _thumbnail(orthanc, seg, query)
        assert answer.status_code == status and word in answer.json()["error"]
    answer = _get(orthanc, f"/previewer/instances/{seg}/frames/3/png?view=thumbnail")
    assert answer.status_code == 404 and "3 frames" in answer.json()["error"]
    assert _png(_get(orthanc, f"/previewer/instances/{seg}/frames/2/png?view=thumbnail")).shape == colour.shape


def test_etag_follows_the_image_under_it(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """The ETag revalidates (304); deleting CT_small turns the picture to black with a new ETag; re-uploaded
    (a new stored file, so a third ETag), the CT is under the segments again."""
    ids = stored["ids"]
    first = _thumbnail(orthanc, ids["seg_binary"])
    tag = first.headers["ETag"]
    assert _get(orthanc, f"/previewer/instances/{ids['seg_binary']}/png?view=thumbnail",
                **{"If-None-Match": tag}).status_code == 304
    assert orthanc.http.delete(f"{orthanc.url}/instances/{ids['ct1']}", timeout=30).status_code == 200
    try:
        black = _thumbnail(orthanc, ids["seg_binary"])
        assert black.headers["ETag"] != tag and black.headers[HEADER].startswith("on black")
        masks = _masks_on(stored["paths"]["seg_binary"], pydicom.dcmread(stored["paths"]["ct1"]).SOPInstanceUID)
        assert (_png(black)[(masks[1] == 0) & (masks[2] == 0)] == 0).all()
    finally:
        orthanc.upload(stored["paths"]["ct1"])
    again = _thumbnail(orthanc, ids["seg_binary"])
    assert again.headers["ETag"] not in (tag, black.headers["ETag"]) and again.headers[HEADER].startswith("over")
    assert (_png(again) == _png(first)).all()


def _drop_segment_number(ds: Dataset) -> None:
    del ds.SegmentSequence[0].SegmentNumber


def _empty_segments(ds: Dataset) -> None:
    ds.SegmentSequence = Sequence([])


def _text_segment_number(ds: Dataset) -> None:
    ds.SegmentSequence[0]["SegmentNumber"].VR = "LO"
    ds.SegmentSequence[0].SegmentNumber = "first"


def _one_lab_value(ds: Dataset) -> None:
    ds.SegmentSequence[1].RecommendedDisplayCIELabValue = [40000]


def _segments_not_a_sequence(ds: Dataset) -> None:
    del ds.SegmentSequence
    ds.add_new(0x00620002, "LO", "not a sequence")


def _frame_zero(ds: Dataset) -> None:
    for group in ds.PerFrameFunctionalGroupsSequence:
        group.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber = 0


#: The highdicom BINARY SEG with its Segment Sequence (or its frames' Referenced Frame Number) broken by pydicom,
#: and the status it must get.
HOSTILE: dict[str, tuple[Callable[[Dataset], None], int]] = {
    "no_segment_number": (_drop_segment_number, 415),
    "empty_segment_sequence": (_empty_segments, 415),
    "text_segment_number": (_text_segment_number, 415),
    "not_a_sequence": (_segments_not_a_sequence, 415),
    "one_lab_value": (_one_lab_value, 200),   # segment 2 falls back to the palette's colour
    "frame_zero": (_frame_zero, 200),          # CT_small has no frame 0: the segments on black
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_segment_sequences(orthanc: OrthancProcess, stored: dict[str, Any], tmp_path: Path, name: str) -> None:
    """A SEG whose Segment Sequence (or frame reference) is malformed: a JSON 4xx naming the problem, or a picture;
    never a 5xx."""
    mutate, status = HOSTILE[name]
    ds = make.segmentation("BINARY")
    mutate(ds)
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["hostile segment sequence", name])
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = tmp_path / f"{name}.dcm"
    ds.save_as(path, enforce_file_format=True)
    instance = orthanc.upload(path)["ID"]
    for query in ("", "&size=64"):
        answer = _thumbnail(orthanc, instance, query)
        assert answer.status_code == status, answer.text
        if status == 200:
            assert _png(answer).shape[2] == 3
            assert name != "frame_zero" or answer.headers[HEADER].startswith("on black: image ")
        else:
            assert answer.headers["content-type"].startswith("application/json")
            assert "egment" in answer.json()["error"]
