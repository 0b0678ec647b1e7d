"""Viewports that move together, in Chromium through a real Orthanc: scrolling by position, the toggle and the link.

The series are real CT slices: the Radiomics Digital Phantom that PyPI's ``pycerr`` 2.5.1 ships
(``make testdata``; tests/fetch_testdata.py).  Its patient 1 has 60 axial slices 3 mm apart, patient
2 another 41 in a frame of reference of its own.  To have two series of one Frame of Reference with
different slice positions, patient 1's slices are split here into two series (new Series and SOP
Instance UIDs, nothing else changed): the even slices (6 mm apart) and every third slice from the
second (9 mm apart).  No real file holds such a pair.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from orthanc_process import ROOT, OrthancProcess
from test_viewer_browser import Server, Viewer, browser, viewer  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.slow

PHANTOM = ROOT / "build" / "testdata" / "radiomics_phantom_dicom"


def _slices(patient: str) -> list[Path]:
    folder = PHANTOM / patient
    if not (PHANTOM / ".complete").exists():
        pytest.fail("the phantom is missing: run `make testdata`")
    return sorted(folder.glob("DCM_IMG_*.dcm"))


def _split(paths: list[Path], folder: Path, name: str, description: str) -> list[Path]:
    """The slices as a series of their own: new Series and SOP Instance UIDs, the rest as in the files."""
    series_uid = generate_uid()
    out = []
    folder.mkdir(parents=True, exist_ok=True)
    for number, path in enumerate(paths, 1):
        ds = pydicom.dcmread(path)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SeriesDescription, ds.InstanceNumber = description, number
        target = folder / f"{name}-{number:03d}.dcm"
        ds.save_as(target)
        out.append(target)
    return out


class Stack:
    """An uploaded series: Orthanc ids with each slice's position and orientation."""

    def __init__(self, orthanc: OrthancProcess, paths: list[Path]) -> None:
        self.ids: list[str] = []
        self.positions: list[np.ndarray] = []
        for path in paths:
            answer = orthanc.upload(path)
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            self.ids.append(answer["ID"])
            self.positions.append(np.array(ds.ImagePositionPatient, dtype=float))
            self.series = answer["ParentSeries"]
            orientation = np.array(ds.ImageOrientationPatient, dtype=float)
        self.normal = np.cross(orientation[:3], orientation[3:])
        # Positions and Instance Numbers run together in file order: the viewer's order is this list's.
        along = np.array([p @ self.normal for p in self.positions])
        assert np.all(np.diff(along) < 0) or np.all(np.diff(along) > 0)

    def position(self, instance: str) -> np.ndarray:
        return self.positions[self.ids.index(instance)]

    def nearest(self, point: np.ndarray) -> str:
        """The slice nearest ``point`` along this series' normal (numpy's argmin: the first of a tie)."""
        along = np.array([p @ self.normal for p in self.positions])
        return self.ids[int(np.argmin(np.abs(along - point @ self.normal)))]


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[tuple[Server, dict[str, Stack]]]:
    folder = tmp_path_factory.mktemp("sync")
    first = _slices("pat_1")
    orthanc = OrthancProcess(folder / "orthanc").start()
    try:
        server = Server(orthanc)
        stacks = {
            "even": Stack(orthanc, _split(first[0::2], folder / "files", "even", "Phantom even slices")),
            "third": Stack(orthanc, _split(first[1::3], folder / "files", "third", "Phantom every third slice")),
            "other": Stack(orthanc, _slices("pat_2")),   # another patient: another frame of reference
        }
        yield server, stacks
    finally:
        orthanc.stop()


@pytest.fixture(scope="module")
def server(stacks: tuple[Server, dict[str, Stack]]) -> Server:
    """The Orthanc of the stacks, for test_viewer_browser's viewer fixture."""
    return stacks[0]



def _shown(viewer: Viewer, index: int) -> str:
    return str(viewer.page.get_attribute(f'[data-viewport="{index}"]', "data-instance"))


def _wait_for(viewer: Viewer, index: int, instance: str) -> None:
    viewer.page.wait_for_function("""([index, instance]) => {
      const node = document.querySelector(`[data-viewport="${index}"]`);
      return node.dataset.instance === instance && node.dataset.state === 'ready';
    }""", arg=[index, instance])


def _open_pair(viewer: Viewer, left: Stack, right: Stack) -> None:
    viewer.goto(f"#/series/{left.series}?layout=1x2&v1={right.series}")
    _wait_for(viewer, 0, left.ids[0])
    viewer.page.wait_for_function("() => document.querySelector('[data-viewport=\"1\"]').dataset.state === 'ready'")
    viewer.page.click('[data-viewport="0"] canvas', button="middle")   # active, without windowing


def test_same_frame_of_reference_scrolls_by_position(viewer: Viewer, stacks: tuple[Server, dict[str, Stack]]) -> None:
    """After each step in the first viewport, the second shows its slice nearest in position, as numpy finds it."""
    _, by_name = stacks
    even, third = by_name["even"], by_name["third"]
    _open_pair(viewer, even, third)
    _wait_for(viewer, 1, third.nearest(even.position(_shown(viewer, 0))))
    for key in ["ArrowDown"] * 4 + ["PageDown", "ArrowUp", "End", "PageUp"]:
        before = _shown(viewer, 0)
        viewer.page.keyboard.press(key)
        viewer.page.wait_for_function("(before) => document.querySelector('[data-viewport=\"0\"]').dataset.instance"
                                      " !== before", arg=before)
        expected = third.nearest(even.position(_shown(viewer, 0)))
        _wait_for(viewer, 1, expected)
    # The location in the overlays agrees within half the second series' spacing (9 mm).
    left = float(viewer.text('[data-viewport="0"] .overlay-location').split()[1])
    right = float(viewer.text('[data-viewport="1"] .overlay-location').split()[1])
    assert abs(left - right) <= 4.5


def test_the_toggle_turns_position_sync_off(viewer: Viewer, stacks: tuple[Server, dict[str, Stack]]) -> None:
    """With Sync off, the second viewport stays where it is."""
    _, by_name = stacks
    even, third = by_name["even"], by_name["third"]
    _open_pair(viewer, even, third)
    _wait_for(viewer, 1, third.nearest(even.position(_shown(viewer, 0))))
    still = _shown(viewer, 1)
    viewer.page.click("#sync-position")
    assert viewer.page.get_attribute("#sync-position", "aria-pressed") == "false"
    for _ in range(5):
        viewer.page.keyboard.press("ArrowDown")
    _wait_for(viewer, 0, even.ids[5])
    assert _shown(viewer, 1) == still


def test_link_locks_the_offset_between_frames_of_reference(viewer: Viewer,
                                                          stacks: tuple[Server, dict[str, Stack]]) -> None:
    """Different frames of reference do not follow until linked; then they keep the offset of that moment, in mm."""
    _, by_name = stacks
    even, other = by_name["even"], by_name["other"]
    _open_pair(viewer, even, other)
    start = _shown(viewer, 1)
    viewer.page.keyboard.press("ArrowDown")
    _wait_for(viewer, 0, even.ids[1])
    viewer.page.wait_for_timeout(300)
    assert _shown(viewer, 1) == start   # no common frame of reference: nothing follows
    # Move the second to its 10th slice, then link.
    viewer.page.click('[data-viewport="1"] canvas', button="middle")
    for _ in range(9):
        viewer.page.keyboard.press("ArrowDown")
    _wait_for(viewer, 1, other.ids[other.ids.index(start) + 9])
    anchor_other = other.position(_shown(viewer, 1))
    viewer.page.click('[data-viewport="0"] canvas', button="middle")
    anchor_even = even.position(_shown(viewer, 0))
    viewer.page.click("#link")
    for _ in range(3):
        viewer.page.keyboard.press("ArrowDown")
    _wait_for(viewer, 0, even.ids[4])
    moved = even.position(even.ids[4]) - anchor_even            # 3 steps of 6 mm
    _wait_for(viewer, 1, other.nearest(anchor_other + moved))   # 6 slices of 3 mm further
    assert other.ids.index(_shown(viewer, 1)) - other.ids.index(other.nearest(anchor_other)) in (6, -6)


def test_window_and_zoom_sync_toggle(viewer: Viewer, stacks: tuple[Server, dict[str, Stack]]) -> None:
    """Off by default; with Sync W/L the window chosen in one viewport windows the other, with Sync zoom the zoom."""
    _, by_name = stacks
    even, third = by_name["even"], by_name["third"]
    _open_pair(viewer, even, third)
    window = '[data-viewport="{}"] .overlay-window'
    zoom = '[data-viewport="{}"] .overlay-zoom'
    viewer.page.keyboard.press("1")   # the lung preset, in the first viewport only
    viewer.page.wait_for_function("(s) => document.querySelector(s).textContent.includes('Lung')", arg=window.format(0))
    assert "Lung" not in viewer.text(window.format(1))
    viewer.page.click("#sync-window")
    viewer.page.keyboard.press("5")   # bone
    viewer.page.wait_for_function("(s) => document.querySelector(s).textContent.includes('Bone')", arg=window.format(1))
    assert viewer.text(window.format(0)) == viewer.text(window.format(1))
    before = viewer.text(zoom.format(1))
    viewer.page.keyboard.press("+")
    viewer.page.wait_for_timeout(200)
    assert viewer.text(zoom.format(1)) == before   # zoom sync is off
    viewer.page.click("#sync-zoom")
    viewer.page.keyboard.press("+")
    viewer.page.wait_for_function("([a, b]) => document.querySelector(a).textContent === document.querySelector(b)"
                                  ".textContent", arg=[zoom.format(0), zoom.format(1)])
