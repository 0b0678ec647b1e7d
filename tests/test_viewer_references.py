"""Reference lines and the crosshair in Chromium through a real Orthanc, against geometry computed with numpy.

The series are real anonymised Siemens MR headers from PyPI's ``dcm-classifier`` 0.9.9 (``make
testdata``; tests/fetch_testdata.py): series 14, 21 oblique axial slices of 256x192, and series 10,
19 tilted sagittal slices of 320x320, in one study and one Frame of Reference.  Their pixels are all
zero: the images are black, the geometry is real.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from orthanc_process import ROOT, OrthancProcess
from test_viewer_browser import Server, Viewer, browser, viewer  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.slow

CLASSIFIER = ROOT / "build" / "testdata" / "dcm_classifier"


class Plane:
    """One slice's geometry from its file: PS3.3 C.7.6.2.1.1."""

    def __init__(self, path: Path) -> None:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        self.position = np.array(ds.ImagePositionPatient, dtype=float)
        orientation = np.array(ds.ImageOrientationPatient, dtype=float)
        self.row, self.column = orientation[:3], orientation[3:]
        self.normal = np.cross(self.row, self.column)
        self.spacing = np.array(ds.PixelSpacing, dtype=float)   # between rows, between columns
        self.cols, self.rows = int(ds.Columns), int(ds.Rows)

    def point(self, x: float, y: float) -> np.ndarray:
        """Continuous image coordinates (pixel (c, r) covers [c, c+1) x [r, r+1)) to patient space."""
        return (self.position + self.row * (x - 0.5) * self.spacing[1]
                + self.column * (y - 0.5) * self.spacing[0])

    def image(self, point: np.ndarray) -> np.ndarray:
        """Patient space to continuous image coordinates, by least squares on the two in-plane axes."""
        axes = np.stack([self.row * self.spacing[1], self.column * self.spacing[0]], axis=1)
        solution, *_ = np.linalg.lstsq(axes, point - self.position, rcond=None)
        return solution + 0.5

    def cut_by(self, other: Plane) -> np.ndarray:
        """The ends of the line where ``other``'s plane cuts this image's rectangle, in image coordinates."""
        corners = [self.point(0, 0), self.point(self.cols, 0), self.point(self.cols, self.rows), self.point(0, self.rows)]
        ends = []
        for a, b in zip(corners, corners[1:] + corners[:1]):
            denominator = (b - a) @ other.normal
            if abs(denominator) < 1e-12:
                continue
            t = (other.position - a) @ other.normal / denominator
            if -1e-9 <= t <= 1 + 1e-9:
                ends.append(self.image(a + t * (b - a)))
        assert len(ends) >= 2
        return np.array(ends[:2])


class Stack:
    def __init__(self, orthanc: OrthancProcess, folder: Path) -> None:
        self.planes: dict[str, Plane] = {}
        for path in sorted(folder.glob("*.dcm")):
            answer = orthanc.upload(path)
            self.planes[answer["ID"]] = Plane(path)
            self.series = answer["ParentSeries"]


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[tuple[Server, Stack, Stack]]:
    if not (CLASSIFIER / ".complete").exists():
        pytest.fail("dcm-classifier's series are missing: run `make testdata`")
    orthanc = OrthancProcess(tmp_path_factory.mktemp("references") / "orthanc").start()
    try:
        yield Server(orthanc), Stack(orthanc, CLASSIFIER / "14"), Stack(orthanc, CLASSIFIER / "10")
    finally:
        orthanc.stop()


@pytest.fixture(scope="module")
def server(stacks: tuple[Server, Stack, Stack]) -> Server:
    """The Orthanc of the stacks, for test_viewer_browser's viewer fixture."""
    return stacks[0]



def _open(viewer: Viewer, axial: Stack, sagittal: Stack) -> None:
    viewer.goto(f"#/series/{axial.series}?layout=1x2&v1={sagittal.series}")
    viewer.page.wait_for_function("""() => [...document.querySelectorAll('[data-viewport]')]
      .every((node) => node.dataset.state === 'ready')""")


def _shown(viewer: Viewer, index: int) -> str:
    return str(viewer.page.get_attribute(f'[data-viewport="{index}"]', "data-instance"))


def _screen(viewer: Viewer, index: int, plane: Plane, point: np.ndarray) -> np.ndarray:
    """Image coordinates to the canvas' CSS pixels, for an image fitted to its viewport (no zoom, no pan)."""
    width, height = viewer.page.evaluate(f"""() => {{
      const canvas = document.querySelector('[data-viewport="{index}"] canvas');
      return [canvas.clientWidth, canvas.clientHeight];
    }}""")
    scale = min(width / plane.cols, height / plane.rows)
    return np.array([width / 2 - plane.cols * scale / 2, height / 2 - plane.rows * scale / 2]) + point * scale


def test_reference_line_of_the_sagittal_on_the_axial(viewer: Viewer, stacks: tuple[Server, Stack, Stack]) -> None:
    """The sagittal image's plane cuts the oblique axial image where numpy says, within 1 px, at several slices."""
    _, axial, sagittal = stacks
    _open(viewer, axial, sagittal)
    viewer.page.click('[data-viewport="1"] canvas', button="middle")   # the sagittal is active
    for steps in (0, 4, 6):
        for _ in range(steps):
            viewer.page.keyboard.press("ArrowDown")
        viewer.page.wait_for_timeout(400)
        line = viewer.page.locator('[data-viewport="0"] .reference-line')
        line.wait_for()
        target, source = axial.planes[_shown(viewer, 0)], sagittal.planes[_shown(viewer, 1)]
        expected = target.cut_by(source)
        drawn = np.array(json.loads(line.get_attribute("data-points") or "[]"))
        if np.linalg.norm(drawn[0] - expected[0]) > np.linalg.norm(drawn[0] - expected[1]):
            expected = expected[::-1]
        assert np.abs(drawn - expected).max() <= 1.0, (drawn, expected)
        ends = np.array([[float(line.get_attribute(f"{axis}{n}") or "nan") for axis in "xy"] for n in (1, 2)])
        on_screen = np.array([_screen(viewer, 0, target, p) for p in drawn])
        assert np.abs(ends - on_screen).max() <= 1.0
    # The active viewport has no line of its own; parallel images would have none either.
    assert viewer.page.locator('[data-viewport="1"] .reference-line').count() == 0


def test_crosshair_moves_the_other_viewport_to_the_point(viewer: Viewer, stacks: tuple[Server, Stack, Stack]) -> None:
    """A crosshair click on the sagittal shows the axial slice nearest that point, both marking it where numpy projects it."""
    _, axial, sagittal = stacks
    _open(viewer, axial, sagittal)
    viewer.page.click('[data-viewport="1"] canvas', button="middle")
    viewer.page.keyboard.press("c")
    canvas = viewer.page.locator('[data-viewport="1"] canvas')
    box = canvas.bounding_box()
    assert box is not None
    source = sagittal.planes[_shown(viewer, 1)]
    for fx, fy in ((0.5, 0.3), (0.45, 0.7)):
        canvas.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
        mark = viewer.page.locator('[data-viewport="1"] .crosshair-mark')
        mark.wait_for()
        clicked = np.array(json.loads(mark.get_attribute("data-point") or "[]"))
        patient = source.point(*clicked)
        along = np.array([plane.position @ plane.normal for plane in axial.planes.values()])
        normal = next(iter(axial.planes.values())).normal
        expected_id = list(axial.planes)[int(np.argmin(np.abs(along - patient @ normal)))]
        viewer.page.wait_for_function("(id) => document.querySelector('[data-viewport=\"0\"]').dataset.instance === id",
                                      arg=expected_id)
        other = viewer.page.locator('[data-viewport="0"] .crosshair-mark')
        other.wait_for()
        marked = np.array(json.loads(other.get_attribute("data-point") or "[]"))
        assert np.abs(marked - axial.planes[expected_id].image(patient)).max() <= 1.0
