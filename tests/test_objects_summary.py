"""Summaries of any instance (previewer/objects/summary.py): kind, title, main attributes, references and ROIs."""
from __future__ import annotations

import copy
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import UID

import objects_presentation
import objects_segmentation
from conftest import CT_SMALL
from objects_rt import BAD_VR, RTDOSE, RTPLAN, RTSTRUCT, raw, read, reread
from previewer.objects import summary

#: The Radiomics Digital Phantom's RT Structure Set (`make testdata`): 60 CT slices referenced, one ROI.
PHANTOM_RTSTRUCT = (Path(__file__).resolve().parent.parent / "build" / "testdata" / "radiomics_phantom_dicom"
                    / "pat_1" / "DCM_RS_00060.dcm")
#: Real files of pydicom's and pydicom-data's test data, and the kind of each.
KINDS = {
    "rtstruct.dcm": "rtstruct", "rtplan.dcm": "rtplan", "ExplVR_LitEndNoMeta.dcm": "rtplan",
    "rtdose.dcm": "rtdose", "badVR.dcm": "rtdose", "reportsi.dcm": "report", "test-SR.dcm": "report",
    "CT_small.dcm": "image", "ExplVR_BigEnd.dcm": "image", "waveform_ecg.dcm": "waveform",
}
#: pydicom's dose with Float Pixel Data, in ../shared/dicom/extra/.
FLOAT_PIXELS = Path("/work/shared/dicom/extra/parametric_map_float.dcm")


def _file(name: str) -> Dataset:
    return read(Path(get_testdata_file(name)))


class TestKind:
    @pytest.mark.parametrize("name", sorted(KINDS))
    def test_real_files(self, name: str) -> None:
        """Each real file's kind, RT Plans (RT Ion Plan too) and Doses apart from images."""
        assert summary.kind(_file(name)) == KINDS[name]

    def test_a_treatment_record_is_other(self) -> None:
        """rtplan.dcm relabelled RT Beams Treatment Record (synthesized: no real one here): no pixels, 'other'."""
        ds = read(RTPLAN)
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.481.4"
        assert summary.kind(ds) == "other" and summary.title(summary.sop_class(ds)) == "RT Beams Treatment Record Storage"

    def test_an_image_without_pixels_is_other(self) -> None:
        """CT_small.dcm without its Pixel Data (synthesized): 'other', and pixels false."""
        ds = read(CT_SMALL)
        del ds.PixelData
        assert (summary.kind(ds), summary.has_pixels(ds)) == ("other", False)

    def test_presentation_and_segmentation(self, tmp_path: Path) -> None:
        """dcmtk's dcmpsmk GSPS and highdicom's SEG keep their previewer kinds."""
        ps = pydicom.dcmread(objects_presentation.dcmpsmk(tmp_path))
        assert summary.kind(ps) == "presentation"
        assert summary.kind(objects_segmentation.segmentation()) == "segmentation"


class TestTitleAndPixels:
    @pytest.mark.parametrize("name", ["rtstruct.dcm", "rtplan.dcm", "reportsi.dcm", "test-SR.dcm", "CT_small.dcm"])
    def test_title_is_pydicoms_name(self, name: str) -> None:
        """The title is the SOP Class's name in pydicom's UID dictionary."""
        ds = _file(name)
        assert summary.title(summary.sop_class(ds)) == UID(ds.SOPClassUID).name != ds.SOPClassUID

    def test_titles_of_the_issue(self) -> None:
        """The issue's three examples, an unknown UID as itself, and no UID."""
        assert [summary.title(summary.sop_class(read(p))) for p in (RTSTRUCT, RTPLAN)] == [
            "RT Structure Set Storage", "RT Plan Storage"]
        assert summary.title(summary.sop_class(_file("reportsi.dcm"))) == "Basic Text SR Storage"
        assert summary.title("1.2.3.4") == "1.2.3.4" and summary.title("") == "(no SOP Class UID)"

    def test_sop_class_from_the_file_meta(self) -> None:
        """Without (0008,0016) the File Meta's Media Storage SOP Class UID is used (synthesized)."""
        ds = read(RTDOSE)
        del ds.SOPClassUID
        assert summary.sop_class(ds) == ds.file_meta.MediaStorageSOPClassUID and summary.kind(ds) == "rtdose"

    def test_pixels(self) -> None:
        """Pixel Data (rtdose.dcm), Float Pixel Data (parametric_map_float.dcm), none (rtplan.dcm)."""
        assert summary.has_pixels(read(RTDOSE)) and not summary.has_pixels(read(RTPLAN))
        floats = read(FLOAT_PIXELS)
        assert "PixelData" not in floats and summary.has_pixels(floats)


def _expected(ds: Dataset, kind: str) -> list[tuple[str, str, str, str]]:
    """The main attributes by pydicom's own reading: (tag, keyword, name, str(value)) of those with a value."""
    rows = []
    for keyword in (*summary.COMMON_ATTRIBUTES, *summary.KIND_ATTRIBUTES[kind]):
        if keyword in ds and ds[keyword].VR != "SQ" and ds[keyword].value is not None and str(ds[keyword].value).strip():
            element = ds[keyword]
            rows.append((f"({element.tag.group:04X},{element.tag.element:04X})", keyword, element.name,
                         "\\".join(str(v) for v in element.value) if element.VM > 1 else str(element.value).strip()))
    return rows


class TestAttributes:
    @pytest.mark.parametrize("name", ["rtstruct.dcm", "rtplan.dcm", "rtdose.dcm", "CT_small.dcm"])
    def test_rows_are_the_files_values(self, name: str) -> None:
        """Each present main attribute with a value, as pydicom reads it, in the summary's order."""
        ds = _file(name)
        kind = summary.kind(ds)
        rows = summary.attributes(ds, kind)
        assert [(r["tag"], r["keyword"], r["name"], r["value"]) for r in rows] == _expected(ds, kind)

    def test_raw_values(self) -> None:
        """Person names keep their ^, dates stay raw (ExplVR_BigEnd.dcm's "1997.04.24"), empty ones are left out."""
        rows = {r["keyword"]: r for r in summary.attributes(read(RTSTRUCT), "rtstruct")}
        assert rows["PatientName"] == {"tag": "(0010,0010)", "keyword": "PatientName", "name": "Patient's Name",
                                       "value": "Test^Phantom30sep"}
        assert rows["StructureSetLabel"]["value"] == "sep30" and "StudyDate" not in rows
        big_endian = {r["keyword"]: r["value"] for r in summary.attributes(_file("ExplVR_BigEnd.dcm"), "image")}
        assert big_endian["StudyDate"] == "1997.04.24"

    def test_a_reports_title(self) -> None:
        """test-SR.dcm: its Concept Name Code Sequence shown as its Code Meaning, with the flags."""
        ds = _file("test-SR.dcm")
        rows = {r["keyword"]: r["value"] for r in summary.attributes(ds, "report")}
        assert rows["ConceptNameCodeSequence"] == ds.ConceptNameCodeSequence[0].CodeMeaning
        assert (rows["CompletionFlag"], rows["VerificationFlag"]) == (ds.CompletionFlag, ds.VerificationFlag)

    def test_long_values_are_cut(self) -> None:
        """A Study Description of 5000 characters (synthesized) is cut to MAX_VALUE and marked."""
        ds = read(RTPLAN)
        ds.StudyDescription = "x" * 5000
        rows = {r["keyword"]: r["value"] for r in summary.attributes(ds, "rtplan")}
        assert rows["StudyDescription"] == "x" * summary.MAX_VALUE + "..."


def _triples(found: list[summary.Reference]) -> list[tuple[str, str, str]]:
    return [(r.relation, r.level, r.uid) for r in found]


class TestReferences:
    def test_rtstruct(self) -> None:
        """rtstruct.dcm: its Frame of Reference, study and series, each once though named twice."""
        ds = read(RTSTRUCT)
        frame = ds.ReferencedFrameOfReferenceSequence[0]
        study = frame.RTReferencedStudySequence[0]
        assert summary.references(ds) == ([
            summary.Reference("Referenced Frame of Reference", "frame-of-reference", frame.FrameOfReferenceUID),
            summary.Reference("Referenced Study", "study", study.ReferencedSOPInstanceUID),
            summary.Reference("Referenced Series", "series", study.RTReferencedSeriesSequence[0].SeriesInstanceUID),
        ], False)

    def test_phantom_contour_images(self) -> None:
        """The phantom's structure set: after study and series, the 60 images of its Contour Image Sequence."""
        if not PHANTOM_RTSTRUCT.exists():
            pytest.fail("the phantom is missing: run `make testdata`")
        ds = pydicom.dcmread(PHANTOM_RTSTRUCT)
        series = ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
        found, truncated = summary.references(ds)
        assert [r.level for r in found[:3]] == ["frame-of-reference", "study", "series"] and not truncated
        assert _triples(found[3:]) == [("Referenced Image", "instance", i.ReferencedSOPInstanceUID)
                                       for i in series.ContourImageSequence]
        assert len(found) == 63
        assert summary.references(ds, limit=2) == (found[:2], True)

    def test_plan_and_dose(self) -> None:
        """rtplan.dcm references a plan and a structure set; rtdose.dcm and badVR.dcm the plan they dose."""
        plan = read(RTPLAN)
        assert _triples(summary.references(plan)[0]) == [
            ("Referenced RT Plan", "instance", plan.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID),
            ("Referenced Structure Set", "instance", plan.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID)]
        for path in (RTDOSE, BAD_VR):
            dose = read(path)
            assert _triples(summary.references(dose)[0]) == [
                ("Referenced RT Plan", "instance", dose.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID)]

    def test_presentation_state(self, tmp_path: Path) -> None:
        """dcmpsmk's GSPS of CT_small.dcm references CT_small's series and image."""
        ct = read(CT_SMALL)
        ps = pydicom.dcmread(objects_presentation.dcmpsmk(tmp_path))
        assert _triples(summary.references(ps)[0]) == [("Referenced Series", "series", ct.SeriesInstanceUID),
                                                       ("Referenced Image", "instance", ct.SOPInstanceUID)]

    def test_segmentation(self) -> None:
        """highdicom's SEG: its source series, both source images, each once (also named frame by frame)."""
        images = objects_segmentation.source_images()
        found = summary.references(objects_segmentation.segmentation())[0]
        assert {(r.level, r.uid) for r in found} == {("series", images[0].SeriesInstanceUID)} | {
            ("instance", i.SOPInstanceUID) for i in images}
        assert len(found) == 3

    def test_evidence(self) -> None:
        """An SR's Current Requested Procedure Evidence (added to reportsi.dcm, synthesized): study, series, instance."""
        ds = _file("reportsi.dcm")
        sop = Dataset()
        sop.ReferencedSOPClassUID, sop.ReferencedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", "1.2.3.3"
        series = Dataset()
        series.SeriesInstanceUID, series.ReferencedSOPSequence = "1.2.3.2", [sop]
        study = Dataset()
        study.StudyInstanceUID, study.ReferencedSeriesSequence = "1.2.3.1", [series]
        ds.CurrentRequestedProcedureEvidenceSequence = [study]
        assert _triples(summary.references(ds)[0]) == [("Evidence", "study", "1.2.3.1"),
                                                       ("Evidence", "series", "1.2.3.2"),
                                                       ("Evidence", "instance", "1.2.3.3")]


class TestStructureSet:
    def test_rois_are_the_three_sequences(self) -> None:
        """rtstruct.dcm: names from the ROI sequence, colours from the contours, types from the observations."""
        ds = read(RTSTRUCT)
        rois, problems = summary.structure_set(ds)
        assert rois == {int(r.ROINumber): {
            "name": r.ROIName,
            "type": next(o.RTROIInterpretedType for o in ds.RTROIObservationsSequence
                         if o.ReferencedROINumber == r.ROINumber),
            "color": next([int(v) for v in c.ROIDisplayColor] for c in ds.ROIContourSequence
                          if c.ReferencedROINumber == r.ROINumber)} for r in ds.StructureSetROISequence}
        assert problems == [] and rois[1]["color"] == [220, 160, 120]

    def test_missing_sequences_are_named(self) -> None:
        """Without its Structure Set ROI Sequence (a mutant): no names, and the missing sequence named."""
        ds = read(RTSTRUCT)
        del ds.StructureSetROISequence
        rois, problems = summary.structure_set(ds)
        assert problems == ["(3006,0020) Structure Set ROI Sequence is missing"]
        assert [roi["name"] for roi in rois.values()] == ["", "", ""]

    @pytest.mark.parametrize(("stored", "shown"), [(b"255\\0", "'255\\\\0'"), (b"1\\2\\300", "'1\\\\2\\\\300'"),
                                                   (b"red", "'red'")])
    def test_bad_colours(self, stored: bytes, shown: str) -> None:
        """An ROI Display Color of two values, above 255 or text (mutants): null, and named."""
        ds = read(RTSTRUCT)
        raw(ds.ROIContourSequence[0], "ROIDisplayColor", stored)
        rois, problems = summary.structure_set(reread(ds, "colour " + shown))
        assert rois[1]["color"] is None and rois[2]["color"] == [255, 64, 255]
        assert problems == [f"(3006,0039) ROI Contour Sequence item 1: (3006,002A) ROI Display Color {shown} "
                            "is not three integers 0..255"]

    def test_an_roi_without_number(self) -> None:
        """An observation without Referenced ROI Number (a mutant): left out, and named."""
        ds = read(RTSTRUCT)
        del ds.RTROIObservationsSequence[1].ReferencedROINumber
        rois, problems = summary.structure_set(copy.deepcopy(ds))
        assert rois[2]["type"] == "" and rois[3]["type"] == "ISOCENTER"
        assert problems == ["(3006,0080) RT ROI Observations Sequence item 2: (3006,0084) Referenced ROI Number "
                            "is missing"]
