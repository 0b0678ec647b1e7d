"""previewer.objects.measurements: values from points, a TID 1500 report made and read back, hostile input."""
from __future__ import annotations

import dataclasses
import math
import subprocess
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut
from pydicom.sr.codedict import codes

from conftest import CT_SMALL
from previewer.objects import measurements as sr
from previewer.pixels.errors import BadParameter

UID = "1.2.3"


def _m(kind: str, points: list[list[float]], **extra: object) -> sr.Measurement:
    return sr.parse({"kind": kind, "points": points, **extra}, UID)


class TestValues:
    def test_length_in_mm_and_pixels(self) -> None:
        """hypot(dx x column spacing, dy x row spacing); without spacing, in pixels."""
        length = _m("length", [[0, 0], [3, 4]])
        assert sr.values(length, None) == {"length": 5.0}
        assert sr.values(length, [2.0, 0.5])["length"] == pytest.approx(math.hypot(3 * 0.5, 4 * 2.0))

    def test_angles(self) -> None:
        """The angle at the middle point; the Cobb angle is the acute one between the lines."""
        assert sr.values(_m("angle", [[1, 0], [0, 0], [0, 1]]), None)["angle"] == pytest.approx(90)
        assert sr.values(_m("cobb", [[0, 0], [1, 0], [0, 0], [-1, -1]]), None)["angle"] == pytest.approx(45)
        assert sr.values(_m("angle", [[0, 0], [0, 0], [0, 1]]), None) == {}   # a null arm measures nothing

    def test_regions_equal_numpy(self) -> None:
        """Mean, SD, min, max of the pixel centres inside; areas pi a b and w h."""
        values = np.arange(100, dtype=np.float64).reshape(10, 10)
        rect = sr.values(_m("rectangle", [[2, 3], [6, 5]]), [1.0, 1.0], values)
        inside = values[3:5, 2:6]
        assert (rect["mean"], rect["sd"], rect["min"], rect["max"]) == (inside.mean(), inside.std(), 3 * 10 + 2, 4 * 10 + 5)
        assert rect["area"] == 8.0
        ellipse = sr.values(_m("ellipse", [[0, 0], [10, 10]]), [0.5, 0.5], values)
        assert ellipse["area"] == pytest.approx(math.pi * 25 * 0.25)
        assert sr.values(_m("ellipse", [[0, 0], [0.2, 0.2]]), None, values) == {"area": pytest.approx(math.pi * 0.01)}

    def test_input_is_not_changed(self) -> None:
        """values() reads the modality array, never writes it."""
        values = np.ones((4, 4))
        values.setflags(write=False)
        assert sr.values(_m("rectangle", [[0, 0], [4, 4]]), None, values)["mean"] == 1.0
        assert not values.flags.writeable


@pytest.mark.parametrize("item, words", [
    ({"kind": "circle", "points": [[0, 0], [1, 1]]}, "kind"),
    ({"kind": "length", "points": [[0, 0]]}, "2 points"),
    ({"kind": "angle", "points": [[0, 0], [1, 1]]}, "3 points"),
    ({"kind": "length", "points": [[0, 0], [1, float("nan")]]}, "finite"),
    ({"kind": "length", "points": [[0, 0], [1, True, 3]]}, "point"),
    ({"kind": "length", "points": [[0, 0], [1, 1]], "frame": -1}, "frame"),
    ({"kind": "length", "points": [[0, 0], [1, 1]], "frame": "2"}, "frame"),
    ({"kind": "arrow", "points": [[0, 0], [1, 1]], "label": 7}, "label"),
])
def test_hostile_measurements_are_named(item: dict[str, object], words: str) -> None:
    """Each malformed measurement is a BadParameter naming what is wrong."""
    with pytest.raises(BadParameter, match=words):
        sr.parse(item, UID)


def test_labels_are_cut_to_64_characters() -> None:
    """An arrow's label is kept to 64 characters, without surrounding spaces."""
    assert sr.parse({"kind": "arrow", "points": [[0, 0], [1, 1]], "label": "  " + "x" * 100}, UID).label == "x" * 64


def test_report_round_trip_through_highdicom_and_dciodvfy(tmp_path: Path) -> None:
    """A report of every kind passes dciodvfy, reads with highdicom, and reads back as the same measurements."""
    ds = pydicom.dcmread(CT_SMALL)
    uid = str(ds.SOPInstanceUID)
    spacing = sr.spacing_of(ds)
    assert spacing == [float(v) for v in ds.PixelSpacing]
    modality = apply_modality_lut(ds.pixel_array, ds)
    drawn = [sr.parse(item, uid) for item in (
        {"kind": "length", "points": [[10, 20], [50, 41]]},
        {"kind": "ellipse", "points": [[12, 9], [52, 38]]},
        {"kind": "rectangle", "points": [[12, 9], [52, 38]]},
        {"kind": "angle", "points": [[10, 50], [40, 20], [70, 45]]},
        {"kind": "cobb", "points": [[10, 10], [60, 20], [15, 60], [55, 40]]},
        {"kind": "arrow", "points": [[30, 30], [60, 10]], "label": "lesion"})]
    measured = [(dataclasses.replace(m, values=sr.values(m, spacing, modality)),
                 {"spacing": spacing, "units": ("[hnsf'U]", "Hounsfield unit")}) for m in drawn]
    path = tmp_path / "sr.dcm"
    sr.build_report([ds], measured).save_as(path, enforce_file_format=True)
    check = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    assert [line for line in (check.stdout + check.stderr).splitlines() if line.startswith("Error")] == []
    report = hd.sr.srread(path)
    groups = report.content.get_planar_roi_measurement_groups()
    assert len(groups) == 6
    [length] = groups[0].get_measurements(name=codes.SCT.Length)
    assert (float(length.value), length.unit.value) == (pytest.approx(measured[0][0].values["length"]), "mm")
    back = sr.read_report(pydicom.dcmread(path))
    assert [(m["kind"], m["label"]) for m in back] == [(m.kind, m.label) for m in drawn]
    for read, (written, _) in zip(back, measured):
        assert np.allclose(read["points"], written.points)
        assert read["values"] == pytest.approx(written.values)


def test_a_report_needs_a_measurement() -> None:
    """An empty list is refused before highdicom is asked."""
    with pytest.raises(BadParameter, match="no measurement"):
        sr.build_report([], [])


def test_reading_a_foreign_sr_finds_nothing() -> None:
    """pydicom's own SR test file holds no image measurements: an empty list, no exception."""
    from pydicom.data import get_testdata_file
    assert sr.read_report(pydicom.dcmread(get_testdata_file("test-SR.dcm"))) == []
