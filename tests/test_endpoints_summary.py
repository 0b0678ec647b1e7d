"""GET /previewer/api/instances/{id}/summary through a real Orthanc: each kind's block against pydicom and numpy,
references resolved to Orthanc IDs (or null), errors, and hostile mutants that must never give a 5xx."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from conftest import CT_SMALL, replacing_orthanc
from objects_rt import BAD_VR, RTDOSE, RTPLAN, RTSTRUCT, encoded, raw, read
from orthanc_process import OrthancProcess

#: The Radiomics Digital Phantom's patient 1 (`make testdata`): 60 CT slices and the RT Structure Set outlining them.
PHANTOM = Path(__file__).resolve().parent.parent / "build" / "testdata" / "radiomics_phantom_dicom" / "pat_1"
#: pydicom's SRs and its big-endian ultrasound image, whose Study Date is stored as "1997.04.24".
REPORTS = {"reportsi.dcm": "Basic Text SR Storage", "test-SR.dcm": "Comprehensive SR Storage"}
BIG_ENDIAN = Path(get_testdata_file("ExplVR_BigEnd.dcm"))
KEYS = ["id", "kind", "title", "sop_class", "pixels", "attributes", "references", "error", "problems"]


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """An Orthanc of this module's own, so that what it holds (and not) is known."""
    yield from replacing_orthanc(tmp_path_factory, "summary")


def _post(orthanc: OrthancProcess, data: bytes) -> str:
    answer = orthanc.http.post(orthanc.url + "/instances", data=data, timeout=60)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ID"])


@pytest.fixture(scope="module")
def stored(orthanc: OrthancProcess) -> dict[str, Any]:
    """Every file of the module, uploaded once: name -> Orthanc ID (phantom: its CT IDs and series too)."""
    paths = sorted(PHANTOM.glob("DCM_IMG_*.dcm"))
    if not paths:
        pytest.fail("the phantom is missing: run `make testdata`")
    ids: dict[str, Any] = {name: str(orthanc.upload(path)["ID"]) for name, path in (
        ("rtstruct", RTSTRUCT), ("rtplan", RTPLAN), ("rtdose", RTDOSE), ("big-endian", BIG_ENDIAN),
        ("ct", CT_SMALL), ("phantom-rtstruct", PHANTOM / "DCM_RS_00060.dcm"),
        *((name, Path(get_testdata_file(name))) for name in REPORTS))}
    # badVR.dcm shares rtdose.dcm's SOP Instance UID: stored with one of its own, every other byte as in the file.
    ids["badVR"] = _post(orthanc, encoded(read(BAD_VR), "badVR"))
    ids["phantom-ct"] = {str(orthanc.upload(path)["ID"]): pydicom.dcmread(path, stop_before_pixels=True)
                         for path in paths}
    ids["phantom-series"] = orthanc.get(f"/instances/{next(iter(ids['phantom-ct']))}/series").json()["ID"]
    return ids


def _summary(orthanc: OrthancProcess, instance_id: str, status: int = 200) -> Any:
    answer = orthanc.get(f"/previewer/api/instances/{instance_id}/summary")
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()


def test_rtstruct_rois_are_the_files(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """rtstruct.dcm: its ROIs' names, colours, types and contour counts from its three sequences; its CT is absent."""
    found = _summary(orthanc, stored["rtstruct"])
    ds = read(RTSTRUCT)
    assert list(found) == KEYS[:7] + ["rtstruct"] + KEYS[7:]
    assert (found["kind"], found["title"], found["sop_class"], found["pixels"]) == (
        "rtstruct", "RT Structure Set Storage", ds.SOPClassUID, False)
    types = {int(o.ReferencedROINumber): o.RTROIInterpretedType for o in ds.RTROIObservationsSequence}
    contours = {int(c.ReferencedROINumber): c for c in ds.ROIContourSequence}
    assert found["rtstruct"]["rois"] == [
        {"number": int(r.ROINumber), "name": r.ROIName, "type": types[int(r.ROINumber)],
         "color": [int(v) for v in contours[int(r.ROINumber)].ROIDisplayColor],
         "contours": len(contours[int(r.ROINumber)].ContourSequence), "images": []}
        for r in ds.StructureSetROISequence]
    frame = ds.ReferencedFrameOfReferenceSequence[0]
    study = frame.RTReferencedStudySequence[0]
    assert found["references"] == [
        {"relation": "Referenced Frame of Reference", "level": "frame-of-reference",
         "uid": frame.FrameOfReferenceUID, "orthanc": None},
        {"relation": "Referenced Study", "level": "study", "uid": study.ReferencedSOPInstanceUID, "orthanc": None},
        {"relation": "Referenced Series", "level": "series",
         "uid": study.RTReferencedSeriesSequence[0].SeriesInstanceUID, "orthanc": None}]
    attributes = {a["keyword"]: a for a in found["attributes"]}
    assert attributes["Modality"] == {"tag": "(0008,0060)", "keyword": "Modality", "name": "Modality",
                                      "value": "RTSTRUCT"}
    assert attributes["StructureSetLabel"]["value"] == ds.StructureSetLabel
    assert (found["error"], found["problems"]) == (None, [])


def test_phantom_references_resolve(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """The phantom's RTSTRUCT: its series and 60 images resolve to the CT's Orthanc IDs; ROIs lie where /info says."""
    found = _summary(orthanc, stored["phantom-rtstruct"])
    cts = stored["phantom-ct"]
    by_level: dict[str, list[Any]] = {}
    for reference in found["references"]:
        by_level.setdefault(reference["level"], []).append(reference)
    assert [r["orthanc"] for r in by_level["series"]] == [stored["phantom-series"]]
    assert {r["uid"]: r["orthanc"] for r in by_level["instance"]} == {ds.SOPInstanceUID: i for i, ds in cts.items()}
    study = orthanc.get(f"/series/{stored['phantom-series']}").json()["ParentStudy"]
    assert [r["orthanc"] for r in by_level["study"]] == [study]
    assert [r["orthanc"] for r in by_level["frame-of-reference"]] == [None]
    info = orthanc.get(f"/previewer/instances/{stored['phantom-rtstruct']}/info").json()["structures"]
    roi = found["rtstruct"]["rois"][0]
    color = pydicom.dcmread(PHANTOM / "DCM_RS_00060.dcm").ROIContourSequence[0].ROIDisplayColor
    assert (roi["name"], roi["color"], roi["contours"]) == ("GTV-1", [int(v) for v in color], 26)
    assert roi["images"] == info["rois"][0]["instances"] and len(roi["images"]) == 26
    assert set(roi["images"]) <= set(cts)


def test_rtplan_beams_are_the_beam_sequence(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """rtplan.dcm: its beams' count, numbers and names, its fraction groups; the plan it references is absent."""
    found = _summary(orthanc, stored["rtplan"])
    ds = read(RTPLAN)
    plan = found["rtplan"]
    assert (found["kind"], found["title"], found["pixels"]) == ("rtplan", "RT Plan Storage", False)
    assert [(b["number"], b["name"]) for b in plan["beams"]] == [(int(b.BeamNumber), b.BeamName)
                                                                for b in ds.BeamSequence]
    assert (plan["label"], plan["geometry"]) == (ds.RTPlanLabel, ds.RTPlanGeometry)
    group = ds.FractionGroupSequence[0]
    assert plan["fraction_groups"] == [{
        "number": int(group.FractionGroupNumber), "fractions_planned": int(group.NumberOfFractionsPlanned),
        "beams": [{"number": int(b.ReferencedBeamNumber), "dose": float(b.BeamDose), "meterset": float(b.BeamMeterset)}
                  for b in group.ReferencedBeamSequence]}]
    assert [(r["relation"], r["orthanc"]) for r in found["references"]] == [
        ("Referenced RT Plan", None), ("Referenced Structure Set", None)]
    assert (found["error"], found["problems"]) == (None, [])


def test_rtdose_range_is_pixel_array_times_scaling(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """rtdose.dcm: range = pydicom's pixel_array min/max x Dose Grid Scaling, 15 frames, decodable."""
    found = _summary(orthanc, stored["rtdose"])
    ds = read(RTDOSE)
    doses = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    dose = found["rtdose"]
    assert (found["kind"], found["pixels"], found["error"]) == ("rtdose", True, None)
    assert dose["range"] == pytest.approx([doses.min(), doses.max()], rel=1e-12) and dose["range_error"] is None
    assert (dose["units"], dose["type"], dose["summation"], dose["scaling"]) == (
        ds.DoseUnits, ds.DoseType, ds.DoseSummationType, float(ds.DoseGridScaling))
    assert dose["grid"]["frames"] == 15 and dose["grid"]["offsets"] == [float(v) for v in ds.GridFrameOffsetVector]


def test_bad_vr_has_no_range(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """badVR.dcm: range null with a range_error naming Number of Frames; error is the PNG route's message."""
    found = _summary(orthanc, stored["badVR"])
    assert found["rtdose"]["range"] is None and "Number of Frames" in found["rtdose"]["range_error"]
    assert found["rtdose"]["grid"]["frames"] is None
    png = orthanc.get(f"/previewer/instances/{stored['badVR']}/png")
    assert png.status_code == 415 and found["error"] == png.json()["error"]
    assert "Number of Frames" in found["error"] and found["problems"] == [found["rtdose"]["range_error"]]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_reports(orthanc: OrthancProcess, stored: dict[str, Any], name: str) -> None:
    """pydicom's SRs: kind report, their SOP Class's name, no kind block, their title as an attribute."""
    found = _summary(orthanc, stored[name])
    ds = pydicom.dcmread(get_testdata_file(name))
    assert list(found) == KEYS and (found["kind"], found["title"]) == ("report", REPORTS[name])
    values = {a["keyword"]: a["value"] for a in found["attributes"]}
    assert values["ConceptNameCodeSequence"] == ds.ConceptNameCodeSequence[0].CodeMeaning
    assert values["PatientName"] == str(ds.PatientName)


def test_images(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """ExplVR_BigEnd.dcm keeps its raw Study Date "1997.04.24"; CT_small.dcm is an image that decodes."""
    found = _summary(orthanc, stored["big-endian"])
    assert (found["kind"], found["pixels"], found["error"]) == ("image", True, None)
    assert {a["keyword"]: a["value"] for a in found["attributes"]}["StudyDate"] == "1997.04.24"
    ct = _summary(orthanc, stored["ct"])
    assert (ct["kind"], ct["title"], ct["error"], ct["references"]) == ("image", "CT Image Storage", None, [])


def test_errors_are_json(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """An unknown ID and a malformed one are JSON 404s naming it; a query parameter is a 400 naming it."""
    unknown = "00000000-00000000-00000000-00000000-00000000"
    assert _summary(orthanc, unknown, 404)["instance"] == unknown
    assert "unknown instance" in _summary(orthanc, "not-an-id", 404)["error"]
    answer = orthanc.get(f"/previewer/api/instances/{stored['rtplan']}/summary", params={"x": "1"})
    assert answer.status_code == 400 and "'x'" in answer.json()["error"]


def test_a_dose_referencing_a_stored_plan(orthanc: OrthancProcess, stored: dict[str, Any]) -> None:
    """rtdose.dcm pointed at rtplan.dcm's SOP Instance UID (synthesized link): the reference gives the plan's ID."""
    ds = read(RTDOSE)
    ds.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID = read(RTPLAN).SOPInstanceUID
    found = _summary(orthanc, _post(orthanc, encoded(ds, "dose of the plan")))
    assert [(r["relation"], r["orthanc"]) for r in found["references"]] == [("Referenced RT Plan", stored["rtplan"])]


def _nan_energy(ds: pydicom.Dataset) -> None:
    raw(ds.BeamSequence[0].ControlPointSequence[0], "NominalBeamEnergy", b"NaN")


def _text_meterset(ds: pydicom.Dataset) -> None:
    raw(ds.FractionGroupSequence[0].ReferencedBeamSequence[0], "BeamMeterset", b"lots")


#: Mutants of the real files (synthesized): the file, the edit, the field that becomes null, the problem's words.
MUTANTS: dict[str, tuple[Path, Any, tuple[Any, ...], str]] = {
    "beam energy NaN": (RTPLAN, _nan_energy, ("rtplan", "beams", 0, "energy"), "Nominal Beam Energy 'NaN'"),
    "beam meterset text": (RTPLAN, _text_meterset, ("rtplan", "fraction_groups", 0, "beams", 0, "meterset"),
                           "Beam Meterset 'lots'"),
    "dose grid scaling abc": (RTDOSE, lambda ds: raw(ds, "DoseGridScaling", b"abc"), ("rtdose", "range"),
                              "Dose Grid Scaling 'abc'"),
    "no structure set ROI sequence": (RTSTRUCT, lambda ds: delattr(ds, "StructureSetROISequence"), (),
                                      "Structure Set ROI Sequence is missing"),
    "no ROI contour sequence": (RTSTRUCT, lambda ds: delattr(ds, "ROIContourSequence"), (),
                                "ROI Contour Sequence is missing"),
    "beam number text": (RTPLAN, lambda ds: raw(ds.BeamSequence[0], "BeamNumber", b"one"),
                         ("rtplan", "beams", 0, "number"), "Beam Number 'one' is not an integer"),
}


_KINDS = {RTPLAN: "rtplan", RTDOSE: "rtdose", RTSTRUCT: "rtstruct"}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_hostile_mutants_are_named_problems(orthanc: OrthancProcess, stored: dict[str, Any], name: str) -> None:
    """Each mutant: a 200 of its kind whose problems name the broken element, and its field null; never a 5xx."""
    path, edit, field, words = MUTANTS[name]
    ds = copy.deepcopy(read(path))
    edit(ds)
    found = _summary(orthanc, _post(orthanc, encoded(ds, name)))
    assert found["kind"] == _KINDS[path]
    assert any(words in problem for problem in found["problems"]), found["problems"]
    if field:
        value = found
        for step in field:
            value = value[step]
        assert value is None
