"""Makers of Grayscale Softcopy Presentation State test files.

The GSPS is made by dcmtk's ``dcmpsmk`` from pydicom-data's CT_small.dcm;
dcmpsmk writes no VOI for an image without a window and no graphics, so
:func:`annotate` adds, with pydicom, a Softcopy VOI LUT window, a
Graphic Layer and a Graphic Annotation (polyline, circle, ellipse and
text in PIXEL units, a polyline in DISPLAY units).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

CT = str(get_testdata_file("CT_small.dcm"))
WINDOW = (40.0, 400.0)


def dcmpsmk(directory: Path) -> Path:
    """Run dcmpsmk on CT_small.dcm into ``directory``/ps.dcm."""
    out = Path(directory) / "ps.dcm"
    subprocess.run(["dcmpsmk", "-q", CT, str(out)], check=True)
    return out


def annotate(path: Path, *, rotation: int = 0, flip: bool = False) -> Path:
    """Add a Softcopy VOI window, a layer, annotations and a spatial transformation to ``path``."""
    ds = pydicom.dcmread(path)
    voi = Dataset()
    voi.WindowCenter, voi.WindowWidth = WINDOW
    ds.SoftcopyVOILUTSequence = Sequence([voi])
    layer = Dataset()
    layer.GraphicLayer = "MARKS"
    layer.GraphicLayerOrder = 1
    layer.GraphicLayerRecommendedDisplayCIELabValue = [65535, 32896, 32896]  # white
    ds.GraphicLayerSequence = Sequence([layer])

    def obj(kind: str, units: str, data: list[float], filled: str = "N") -> Dataset:
        g = Dataset()
        g.GraphicAnnotationUnits, g.GraphicDimensions = units, 2
        g.NumberOfGraphicPoints, g.GraphicData = len(data) // 2, data
        g.GraphicType, g.GraphicFilled = kind, filled
        return g

    text = Dataset()
    text.AnchorPointAnnotationUnits, text.AnchorPoint = "PIXEL", [100.0, 100.0]
    text.AnchorPointVisibility, text.UnformattedTextValue = "Y", "HELLO"
    ann = Dataset()
    ann.GraphicLayer = "MARKS"
    ann.GraphicObjectSequence = Sequence([
        obj("POLYLINE", "PIXEL", [10.5, 10.5, 60.5, 10.5]),
        obj("CIRCLE", "PIXEL", [64.5, 64.5, 74.5, 64.5]),
        obj("ELLIPSE", "PIXEL", [20.5, 100.5, 40.5, 100.5, 30.5, 95.5, 30.5, 105.5], "Y"),
        obj("POLYLINE", "DISPLAY", [0.0, 0.99, 1.0, 0.99]),
    ])
    ann.TextObjectSequence = Sequence([text])
    ds.GraphicAnnotationSequence = Sequence([ann])
    ds.ImageRotation = rotation
    ds.ImageHorizontalFlip = "Y" if flip else "N"
    ds.save_as(path)
    return path


def add_shutter(path: Path, *, rectangle: tuple[int, int, int, int] | None = None,
                circle: tuple[int, int, int] | None = None,
                polygon: tuple[tuple[int, int], ...] = (), value: int | None = None,
                lab: tuple[int, int, int] | None = None) -> Path:
    """Add a Display Shutter (PS3.3 C.7.6.11) to the GSPS at ``path`` with pydicom (dcmpsmk writes none).

    ``rectangle`` is (left, right, upper, lower), ``circle`` (centre row, centre
    column, radius), ``polygon`` (row, column) vertices; ``value`` is the Shutter
    Presentation Value (a 16-bit P-Value) and ``lab`` the DICOM-encoded Shutter
    Presentation Color CIELab Value.
    """
    ds = pydicom.dcmread(path)
    shapes = []
    if rectangle is not None:
        shapes.append("RECTANGULAR")
        (ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge,
         ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge) = rectangle
    if circle is not None:
        shapes.append("CIRCULAR")
        ds.CenterOfCircularShutter, ds.RadiusOfCircularShutter = list(circle[:2]), circle[2]
    if polygon:
        shapes.append("POLYGONAL")
        ds.VerticesOfThePolygonalShutter = [v for vertex in polygon for v in vertex]
    ds.ShutterShape = shapes[0] if len(shapes) == 1 else shapes
    if value is not None:
        ds.ShutterPresentationValue = value
    if lab is not None:
        ds.ShutterPresentationColorCIELabValue = list(lab)
    ds.save_as(path)
    return path
