"""Real Structured Report and Key Object Selection files for the report tests.

- :data:`COMPREHENSIVE_SR` and :data:`BASIC_TEXT_SR` are pydicom's own test files
  (``test-SR.dcm``: OFFIS's dcmtk demonstration Comprehensive SR; ``reportsi.dcm``: a Basic Text SR);
- :func:`measurement_report_bytes` is a highdicom ``Comprehensive3DSR`` holding a TID 1500
  Measurement Report with a diameter in mm and a polyline on pydicom's ``CT_small.dcm``;
- :func:`key_object_bytes` is a highdicom ``KeyObjectSelectionDocument`` flagging ``CT_small.dcm``
  and ``MR_small.dcm``;
- :func:`dcmtk_sr_bytes` is an Enhanced SR made by dcmtk's ``xml2dsr`` from an XML written here;
- :func:`hostile_sr_bytes` is ``test-SR.dcm`` edited with pydicom so that one TEXT value holds
  markup and quotes.

Each maker returns the Part 10 file as bytes; :func:`write_all` writes them all into a directory.
"""
from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.sr.codedict import codes

COMPREHENSIVE_SR = str(get_testdata_file("test-SR.dcm"))
BASIC_TEXT_SR = str(get_testdata_file("reportsi.dcm"))
CT_IMAGE = str(get_testdata_file("CT_small.dcm"))
MR_IMAGE = str(get_testdata_file("MR_small.dcm"))

#: The TEXT value :func:`hostile_sr_bytes` puts in place of the first one.
HOSTILE_TEXT = '<script>alert(1)</script> "quoted" & \'single\''
#: The diameter :func:`measurement_report_bytes` records, in millimetres.
DIAMETER_MM = 12.5


def _to_bytes(ds: pydicom.Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def measurement_report_bytes() -> bytes:
    """A highdicom Comprehensive 3D SR: TID 1500 with one planar ROI and its diameter in mm on CT_small.dcm."""
    image = pydicom.dcmread(CT_IMAGE)
    region = hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
        graphic_data=np.array([[10.0, 10.0], [40.0, 10.0], [40.0, 30.0], [10.0, 10.0]]),
        source_image=hd.sr.SourceImageForRegion.from_source_image(image),
    )
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="Lesion 1"),
        referenced_region=region,
        finding_type=codes.SCT.Neoplasm,
        measurements=[hd.sr.Measurement(
            name=codes.SCT.Diameter,
            value=DIAMETER_MM,
            unit=codes.UCUM.Millimeter,
        )],
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_person_context=hd.sr.ObserverContext(
                observer_type=codes.DCM.Person,
                observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name="Doe^Jane"),
            ),
        ),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=[group],
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[image],
        content=report,
        series_instance_uid=hd.UID(),
        series_number=99,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="Previewer tests",
        is_complete=True,
    )
    return _to_bytes(sr)


def key_object_bytes() -> bytes:
    """A highdicom Key Object Selection Document flagging CT_small.dcm and MR_small.dcm."""
    images = [pydicom.dcmread(CT_IMAGE), pydicom.dcmread(MR_IMAGE)]
    content = hd.ko.KeyObjectSelection(
        document_title=codes.DCM.OfInterest,
        referenced_objects=images,
        description="Images worth a look",
    )
    doc = hd.ko.KeyObjectSelectionDocument(
        evidence=images,
        content=content,
        series_instance_uid=hd.UID(),
        series_number=98,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="Previewer tests",
    )
    return _to_bytes(doc)


_DCMTK_XML = """<?xml version="1.0" encoding="UTF-8"?>
<report type="Enhanced SR">
<sopclass uid="1.2.840.10008.5.1.4.1.1.88.22">EnhancedSRStorage</sopclass>
<charset>ISO_IR 192</charset>
<modality>SR</modality>
<patient>
<name>
<first>Richard</first>
<last>Roe</last>
</name>
<id>P-42</id>
</patient>
<study uid="1.2.826.0.1.3680043.8.498.1">
<description>Chest CT follow-up</description>
</study>
<series uid="1.2.826.0.1.3680043.8.498.2">
<number>1</number>
</series>
<instance uid="1.2.826.0.1.3680043.8.498.3">
<number>1</number>
</instance>
<document>
<completion flag="PARTIAL"/>
<verification flag="UNVERIFIED"/>
<content>
<date>2026-12-02</date>
<time>10:00:00</time>
<container flag="SEPARATE">
<concept>
<value>11528-7</value>
<scheme><designator>LN</designator></scheme>
<meaning>Radiology Report</meaning>
</concept>
<container flag="SEPARATE">
<relationship>CONTAINS</relationship>
<concept>
<value>121070</value>
<scheme><designator>DCM</designator></scheme>
<meaning>Findings</meaning>
</concept>
<text>
<relationship>CONTAINS</relationship>
<concept>
<value>121071</value>
<scheme><designator>DCM</designator></scheme>
<meaning>Finding</meaning>
</concept>
<value>Small nodule in the left lower lobe.</value>
</text>
<num>
<relationship>CONTAINS</relationship>
<concept>
<value>G-D705</value>
<scheme><designator>SRT</designator></scheme>
<meaning>Volume</meaning>
</concept>
<value>3.2</value>
<unit>
<value>cm3</value>
<scheme><designator>UCUM</designator></scheme>
<meaning>cubic centimeter</meaning>
</unit>
</num>
</container>
</container>
</content>
</document>
</report>
"""


def dcmtk_sr_bytes() -> bytes:
    """An Enhanced SR made by dcmtk's xml2dsr from a small XML (a text finding and a volume in cm3)."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "report.xml"
        out = Path(tmp) / "report.dcm"
        xml.write_text(_DCMTK_XML, encoding="utf-8")
        subprocess.run(["xml2dsr", str(xml), str(out)], check=True, capture_output=True)
        return out.read_bytes()


def hostile_sr_bytes() -> bytes:
    """test-SR.dcm edited with pydicom: its first TEXT value becomes :data:`HOSTILE_TEXT`."""
    ds = pydicom.dcmread(COMPREHENSIVE_SR)
    stack = list(ds.ContentSequence)
    while stack:
        item = stack.pop(0)
        if item.get("ValueType") == "TEXT":
            item.TextValue = HOSTILE_TEXT
            break
        stack.extend(item.get("ContentSequence", []))
    ds.PatientName = 'Evil^"<b>Name</b>"'
    return _to_bytes(ds)


def write_all(directory: Path) -> list[Path]:
    """Write every report file of this module into directory; return their paths."""
    files = {
        "comprehensive.dcm": Path(COMPREHENSIVE_SR).read_bytes(),
        "basic_text.dcm": Path(BASIC_TEXT_SR).read_bytes(),
        "measurement_3d.dcm": measurement_report_bytes(),
        "key_objects.dcm": key_object_bytes(),
        "enhanced_dcmtk.dcm": dcmtk_sr_bytes(),
        "hostile.dcm": hostile_sr_bytes(),
    }
    paths = []
    for name, data in files.items():
        path = directory / name
        path.write_bytes(data)
        paths.append(path)
    return paths
