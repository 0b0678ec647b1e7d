"""What the summary page of any instance shows: its kind, title, main attributes and references.

An object without pixels (an RT Plan, an RT Structure Set opened alone, a
report) cannot be previewed as a picture; the viewer shows a summary instead.
This module reads, from the dataset alone:

- :func:`kind`: :func:`previewer.objects.kind_of`, refined for RT Plans and
  RT Doses, and ``other`` for any object without pixel data that is none of
  the known kinds;
- :func:`title`: the SOP Class's name from pydicom's UID dictionary (PS3.6 Annex A);
- :func:`attributes`: the main attributes present (Patient, General Study,
  General Series and General Equipment modules, PS3.3 C.7.1-C.7.5) and the
  kind's own labels, values as stored;
- :func:`references`: the studies, series, instances and Frames of Reference
  it references, deduplicated;
- :func:`structure_set`: an RT Structure Set's ROIs as its three sequences
  name them (PS3.3 C.8.8.5, C.8.8.6, C.8.8.8), for the ROIs without contours
  and the colours that :mod:`.rtstruct` defaults.

The Orthanc IDs of what is referenced are looked up by the endpoint
(:mod:`previewer.plugin.endpoints.summary`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydicom.datadict import dictionary_description, tag_for_keyword
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import UID

from ..pixels.meta import text
from . import KINDS, kind_of
from .rtdose import RT_DOSE
from .rtplan import PLANS
from .values import Values, integer_of, label, quoted, tag_text

#: What an instance is, for its summary: the previewer's kinds, RT Plans and Doses, and the rest.
SUMMARY_KINDS = (*KINDS, "rtplan", "rtdose", "other")
#: (7FE0,0010) Pixel Data, (7FE0,0008) Float Pixel Data, (7FE0,0009) Double Float Pixel Data (PS3.3 C.7.6.3, C.7.6.24).
PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
#: At most this many references are listed.
MAX_REFERENCES = 500
#: Longest attribute value shown.
MAX_VALUE = 1000

#: Patient (C.7.1.1), General Study (C.7.2.1), General Series (C.7.3.1), General Image or Content (C.7.6.1,
#: C.17.2) and General Equipment (C.7.5.1): what every summary shows when present.
COMMON_ATTRIBUTES = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    "StudyDate", "StudyTime", "StudyDescription", "StudyID", "AccessionNumber",
    "SeriesDate", "SeriesDescription", "SeriesNumber", "Modality",
    "InstanceNumber", "ContentDate", "ContentTime", "Manufacturer",
)
_IMAGE_ATTRIBUTES = ("ImageType", "BodyPartExamined", "Rows", "Columns", "NumberOfFrames")
#: Each kind's own labels: Structure Set (C.8.8.5), RT General Plan (C.8.8.9), RT Dose (C.8.8.3), SR Document
#: General and Content (C.17.2, C.17.3), Encapsulated Document (C.24.2), Content Identification (C.10.9) ...
KIND_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "rtstruct": ("StructureSetLabel", "StructureSetName", "StructureSetDescription", "StructureSetDate",
                 "StructureSetTime"),
    "rtplan": ("RTPlanLabel", "RTPlanName", "RTPlanDescription", "RTPlanDate", "RTPlanTime", "RTPlanGeometry",
               "PlanIntent", "ApprovalStatus"),
    "rtdose": ("DoseUnits", "DoseType", "DoseSummationType", "DoseComment"),
    "report": ("ConceptNameCodeSequence", "CompletionFlag", "VerificationFlag"),
    "pdf": ("DocumentTitle", "MIMETypeOfEncapsulatedDocument"),
    "presentation": ("ContentLabel", "ContentDescription", "PresentationCreationDate", "ContentCreatorName"),
    "segmentation": ("ContentLabel", "ContentDescription", "SegmentationType", "ContentCreatorName"),
    "waveform": ("AcquisitionDateTime",),
    "image": _IMAGE_ATTRIBUTES,
    "video": _IMAGE_ATTRIBUTES,
    "other": ("ContentLabel", "ContentDescription", "ConceptNameCodeSequence"),
}


def has_pixels(ds: Any) -> bool:
    """True when the instance holds pixel data of any of the three kinds."""
    return any(tag in ds for tag in PIXEL_TAGS)


def sop_class(ds: Any) -> str:
    """SOP Class UID (0008,0016), else the File Meta's Media Storage SOP Class UID, or ''."""
    found = text(ds.get("SOPClassUID")).strip("\0 ")
    if not found:
        meta = getattr(ds, "file_meta", None)
        found = text(meta.get("MediaStorageSOPClassUID")).strip("\0 ") if meta is not None else ""
    return found


def title(uid: str) -> str:
    """The SOP Class's name ("RT Plan Storage"), the UID itself when pydicom does not know it."""
    if not uid:
        return "(no SOP Class UID)"
    return str(UID(uid).name)


def kind(ds: Any) -> str:
    """One of :data:`SUMMARY_KINDS`."""
    uid = sop_class(ds)
    found = kind_of(ds)
    if found != "image":
        return found
    if uid in PLANS:
        return "rtplan"
    if uid == RT_DOSE:
        return "rtdose"
    return "image" if has_pixels(ds) else "other"


def _value(element: Any) -> str:
    """An element's value as stored; a code sequence as its first item's Code Meaning (PS3.3 8.8)."""
    value = element.value
    if isinstance(value, Sequence):
        return text(value[0].get("CodeMeaning")).strip() if len(value) else ""
    shown = text(value).strip()
    return shown if len(shown) <= MAX_VALUE else shown[:MAX_VALUE] + "..."


def attributes(ds: Any, kind_name: str) -> list[dict[str, str]]:
    """The main attributes present with a value, each ``{tag, keyword, name, value}``."""
    rows = []
    for keyword in (*COMMON_ATTRIBUTES, *KIND_ATTRIBUTES.get(kind_name, ())):
        tag = tag_for_keyword(keyword)
        if tag is None or tag not in ds:
            continue
        value = _value(ds[tag])
        if value:
            rows.append({"tag": tag_text(tag), "keyword": keyword, "name": dictionary_description(tag),
                         "value": value})
    return rows


@dataclass(frozen=True)
class Reference:
    """Something the instance references: ``level`` is study, series, instance or frame-of-reference."""

    relation: str
    level: str
    uid: str


@dataclass(frozen=True)
class _Rule:
    """A sequence whose items reference something by ``uid`` (a keyword), and the sequences nested in them."""

    sequence: str
    relation: str = ""
    level: str = ""
    uid: str = ""
    inner: tuple[_Rule, ...] = ()


def _instances(sequence: str, relation: str) -> _Rule:
    return _Rule(sequence, relation, "instance", "ReferencedSOPInstanceUID")


_CONTOUR_IMAGES = _instances("ContourImageSequence", "Referenced Image")
_SOURCES = _Rule("DerivationImageSequence", inner=(_instances("SourceImageSequence", "Source Image"),))


def _evidence(sequence: str) -> _Rule:
    """Hierarchical SOP Instance Reference Macro (PS3.3 C.17.2.1): study, series, instances."""
    return _Rule(sequence, "Evidence", "study", "StudyInstanceUID", (
        _Rule("ReferencedSeriesSequence", "Evidence", "series", "SeriesInstanceUID", (
            _instances("ReferencedSOPSequence", "Evidence"),)),))


#: Where instances reference others.
RULES: tuple[_Rule, ...] = (
    # Structure Set (PS3.3 C.8.8.5): Frame of Reference, study, series, contour images.
    _Rule("ReferencedFrameOfReferenceSequence", "Referenced Frame of Reference", "frame-of-reference",
          "FrameOfReferenceUID", (
              _Rule("RTReferencedStudySequence", "Referenced Study", "study", "ReferencedSOPInstanceUID", (
                  _Rule("RTReferencedSeriesSequence", "Referenced Series", "series", "SeriesInstanceUID",
                        (_CONTOUR_IMAGES,)),)),)),
    _Rule("StructureSetROISequence", "Referenced Frame of Reference", "frame-of-reference",
          "ReferencedFrameOfReferenceUID"),
    # ROI Contour (C.8.8.6): the images each contour lies on.
    _Rule("ROIContourSequence", inner=(_Rule("ContourSequence", inner=(_CONTOUR_IMAGES,)),)),
    # RT plans, doses and structure sets (C.8.8.3, C.8.8.9, C.8.8.16 ...).
    _instances("ReferencedRTPlanSequence", "Referenced RT Plan"),
    _instances("ReferencedStructureSetSequence", "Referenced Structure Set"),
    _instances("ReferencedDoseSequence", "Referenced Dose"),
    # Images, series and studies (C.7.6.1, C.11.11, C.8.20 ...).
    _Rule("ReferencedStudySequence", "Referenced Study", "study", "ReferencedSOPInstanceUID"),
    _Rule("ReferencedSeriesSequence", "Referenced Series", "series", "SeriesInstanceUID", (
        _instances("ReferencedImageSequence", "Referenced Image"),
        _instances("ReferencedInstanceSequence", "Referenced Instance"))),
    _instances("ReferencedImageSequence", "Referenced Image"),
    _instances("ReferencedInstanceSequence", "Referenced Instance"),
    _instances("SourceImageSequence", "Source Image"),
    # Enhanced objects' Derivation Image Functional Group (C.7.6.16.2.6).
    _Rule("SharedFunctionalGroupsSequence", inner=(_SOURCES,)),
    _Rule("PerFrameFunctionalGroupsSequence", inner=(_SOURCES,)),
    # SR Document General (C.17.2): the evidence.
    _evidence("CurrentRequestedProcedureEvidenceSequence"),
    _evidence("PertinentOtherEvidenceSequence"),
)


def _walk(item: Any, rules: tuple[_Rule, ...], found: dict[tuple[str, str], Reference], limit: int) -> bool:
    """Add the references of ``item`` to ``found``; False once more than ``limit`` were found."""
    for rule in rules:
        value = item.get(rule.sequence)
        if not isinstance(value, Sequence):
            continue
        for child in value:
            uid = text(child.get(rule.uid)).strip("\0 ") if rule.uid else ""
            if uid and (rule.level, uid) not in found:
                if len(found) >= limit:
                    return False
                found[(rule.level, uid)] = Reference(rule.relation, rule.level, uid)
            if not _walk(child, rule.inner, found, limit):
                return False
    return True


def references(ds: Any, limit: int = MAX_REFERENCES) -> tuple[list[Reference], bool]:
    """What the instance references, each (level, UID) once, in the order met; and whether more were left out."""
    found: dict[tuple[str, str], Reference] = {}
    complete = _walk(ds, RULES, found, limit)
    return list(found.values()), not complete


def _color(values: Values, item: Any, where: str) -> list[int] | None:
    """ROI Display Color (3006,002A): three integers 0..255 (PS3.3 C.8.8.6); None when absent or malformed."""
    value = item.get("ROIDisplayColor")
    if value is None or text(value).strip() == "":
        return None
    numbers = [integer_of(part) for part in (list(value) if isinstance(value, (MultiValue, list, tuple)) else [value])]
    if len(numbers) != 3 or any(number is None or not 0 <= number <= 255 for number in numbers):
        values.problems.append(f"{where}{label('ROIDisplayColor')} {quoted(value)} is not three integers 0..255")
        return None
    return [int(number) for number in numbers if number is not None]


def structure_set(ds: Any) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Per ROI number: ``name`` (C.8.8.5), ``type`` (C.8.8.8), ``color`` (C.8.8.6, or None); and the problems."""
    values = Values()
    rois: dict[int, dict[str, Any]] = {}

    def roi(number: int) -> dict[str, Any]:
        return rois.setdefault(number, {"name": "", "type": "", "color": None})

    for keyword, number_keyword in (("StructureSetROISequence", "ROINumber"),
                                    ("ROIContourSequence", "ReferencedROINumber"),
                                    ("RTROIObservationsSequence", "ReferencedROINumber")):
        for index, item in enumerate(values.sequence(ds, keyword, required=True)):
            where = f"{label(keyword)} item {index + 1}: "
            number = values.integer(item, number_keyword, where)
            if number is None:
                if number_keyword not in item:
                    values.problems.append(f"{where}{label(number_keyword)} is missing")
                continue
            if keyword == "StructureSetROISequence":
                roi(number)["name"] = values.text(item, "ROIName")
            elif keyword == "ROIContourSequence":
                roi(number)["color"] = _color(values, item, where)
            else:
                roi(number)["type"] = values.text(item, "RTROIInterpretedType")
    return rois, values.problems
