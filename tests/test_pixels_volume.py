"""previewer.pixels.volume: which stacks are volumes, and trilinear sampling in patient space against numpy.

The stack is real: the Radiomics Digital Phantom's patient 1 (60 axial CT slices, 3 mm apart) from
PyPI's ``pycerr`` 2.5.1 (``make testdata``; tests/fetch_testdata.py).  The uneven and the tilted
stacks are derived from it here (some slices dropped; each slice's position moved within its plane),
and the hostile stacks change one attribute each: no real file has them.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut

from previewer.pixels.volume import NotVolume, Slice, sample, volume_of

PHANTOM = Path(__file__).resolve().parent.parent / "build" / "testdata" / "radiomics_phantom_dicom" / "pat_1"


@pytest.fixture(scope="module")
def stack() -> tuple[list[Slice], list[np.ndarray]]:
    """The phantom's slices (in file order) and their modality values."""
    paths = sorted(PHANTOM.glob("DCM_IMG_*.dcm"))
    if not paths:
        pytest.fail("the phantom is missing: run `make testdata`")
    slices, frames = [], []
    for path in paths:
        ds = pydicom.dcmread(path)
        slices.append(Slice(key=path.name, position=tuple(float(v) for v in ds.ImagePositionPatient),
                            orientation=tuple(float(v) for v in ds.ImageOrientationPatient),
                            spacing=(float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])),
                            rows=int(ds.Rows), columns=int(ds.Columns), frame_of_reference=str(ds.FrameOfReferenceUID)))
        frames.append(np.asarray(apply_modality_lut(ds.pixel_array, ds), dtype=np.float64))
    return slices, frames


def _ordered(volume, slices, frames):  # type: ignore[no-untyped-def]
    return [frames[slices.index(one)] for one in volume.slices]


def test_the_phantom_is_a_volume(stack: tuple[list[Slice], list[np.ndarray]]) -> None:
    """60 slices sorted along +z, 3 mm apart, and the box of the voxel centres as numpy finds it."""
    slices, _ = stack
    volume = volume_of(slices[::-1])
    described = volume.describe()
    assert (described["columns"], described["rows"], described["slices"]) == (slices[0].columns, slices[0].rows, 60)
    assert described["uniform"] and described["spacing"]["slice_min"] == pytest.approx(3.0, abs=1e-3)
    assert np.allclose(described["orientation"]["normal"], [0, 0, 1])
    positions = np.array([s.position for s in slices])
    low = positions.min(axis=0)
    high = positions.max(axis=0) + [(slices[0].columns - 1) * slices[0].spacing[1], (slices[0].rows - 1) * slices[0].spacing[0], 0]
    assert np.allclose(described["bounds"]["min"], low) and np.allclose(described["bounds"]["max"], high)


def _reference(frames: np.ndarray, origin: np.ndarray, spacing: tuple[float, float], offsets: np.ndarray,
               points: np.ndarray, axes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Trilinear by hand for an untilted stack: the 8 neighbours of each point, weighted.  ``axes`` (row,
    column, normal; default +x, +y, +z) and ``origin`` (the first slice's position) give each point's
    column and row, the real slice offsets along the normal its slice (they are float32 values here)."""
    row, column, normal = axes if axes is not None else (np.eye(3)[0], np.eye(3)[1], np.eye(3)[2])
    d = points - origin
    index = np.stack([d @ row / spacing[0], d @ column / spacing[1],
                      np.interp(points @ normal, offsets, np.arange(len(offsets)))], axis=1)
    base = np.floor(index).astype(int)
    base = np.minimum(base, np.array(frames.shape[::-1]) - 2)   # the last voxel: its lower neighbour's cell
    out = np.zeros(len(points))
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                corner = base + [dx, dy, dz]
                weight = np.prod(np.clip(1 - np.abs(index - corner), 0, None), axis=1)
                out += weight * frames[corner[:, 2], corner[:, 1], corner[:, 0]]
    return out


def test_trilinear_equals_numpy_inside(stack: tuple[list[Slice], list[np.ndarray]]) -> None:
    """At voxel centres the stored values exactly; at random points the hand-written trilinear within 1e-9."""
    slices, frames = stack
    volume = volume_of(slices)
    values = np.array(_ordered(volume, slices, frames))
    origin = np.array(volume.slices[0].position)
    step = (volume.spacing[1], volume.spacing[0], float(np.diff(volume.offsets).mean()))
    rng = np.random.default_rng(3)
    index = rng.uniform([0, 0, 0], [values.shape[2] - 1.001, values.shape[1] - 1.001, values.shape[0] - 1.001], (400, 3))
    points = origin + index * step
    expected = _reference(values, origin, (volume.spacing[1], volume.spacing[0]), volume.offsets, points)
    assert np.allclose(sample(volume, values, points, -1024.0), expected, atol=1e-9)
    centres = np.array([np.array(volume.slices[k].position) + [x * step[0], y * step[1], 0]
                        for x, y, k in ((3, 5, 7), (0, 0, 0), (values.shape[2] - 1, values.shape[1] - 1, values.shape[0] - 1))])
    assert list(sample(volume, values, centres, -1024.0)) == [values[7, 5, 3], values[0, 0, 0], values[-1, -1, -1]]


def test_outside_is_background(stack: tuple[list[Slice], list[np.ndarray]]) -> None:
    """Points beyond the first slice, the last, or the image edge get the background value."""
    slices, frames = stack
    volume = volume_of(slices)
    values = _ordered(volume, slices, frames)
    origin = np.array(volume.slices[0].position)
    points = np.array([origin - [0, 0, 1], origin + [0, 0, 500], origin - [5, 0, 0], origin + [0, 1e4, 3]])
    assert list(sample(volume, values, points, -1000.0)) == [-1000.0] * 4


def test_uneven_spacing_interpolates_between_the_real_slices(stack: tuple[list[Slice], list[np.ndarray]]) -> None:
    """Slices dropped unevenly: at pixel centres the value is numpy's interp between the slices that remain."""
    slices, frames = stack
    keep = [0, 1, 2, 4, 7, 11, 16, 22, 29, 37, 46, 56, 59]
    kept = [slices[i] for i in keep]
    volume = volume_of(kept)
    assert not volume.describe()["uniform"]
    values = _ordered(volume, kept, [frames[i] for i in keep])
    stacked = np.array(values)
    rng = np.random.default_rng(5)
    origin = np.array(volume.slices[0].position)
    for _ in range(50):
        x, y = int(rng.integers(0, stacked.shape[2])), int(rng.integers(0, stacked.shape[1]))
        z = rng.uniform(volume.offsets[0], volume.offsets[-1])
        point = origin + [x * volume.spacing[1], y * volume.spacing[0], z - volume.offsets[0]]
        expected = np.interp(z, volume.offsets, stacked[:, y, x])
        assert sample(volume, values, point[None], -1024.0)[0] == pytest.approx(expected, abs=1e-9)


def _bilinear(image: np.ndarray, x: float, y: float) -> float:
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    fx, fy = x - x0, y - y0
    return float(image[y0, x0] * (1 - fx) * (1 - fy) + image[y0, x0 + 1] * fx * (1 - fy)
                 + image[y0 + 1, x0] * (1 - fx) * fy + image[y0 + 1, x0 + 1] * fx * fy)


def test_a_tilted_stack_reads_each_slice_at_its_own_position(stack: tuple[list[Slice], list[np.ndarray]]) -> None:
    """A gantry tilt (each slice's origin moved 0.4 mm along its column direction per mm along z): a point on a
    slice's pixel gives that pixel; between two slices, each is read where the point projects onto it."""
    slices, frames = stack
    tilted = [dataclasses.replace(s, position=(s.position[0], s.position[1] + 0.4 * (s.position[2] - slices[0].position[2]),
                                                 s.position[2])) for s in slices]
    volume = volume_of(tilted)
    values = _ordered(volume, tilted, frames)
    straight = volume_of(slices)
    for k, (x, y) in ((10, (50, 60)), (31, (100, 20)), (45, (7, 120))):
        one, after = volume.slices[k], volume.slices[k + 1]
        on = np.array(one.position) + [x * one.spacing[1], y * one.spacing[0], 0]
        assert sample(volume, values, on[None], -1024.0)[0] == pytest.approx(values[k][y, x], abs=1e-9)
        point = on + [0.3, 0.2, 0.25 * (volume.offsets[k + 1] - volume.offsets[k])]
        read = [(np.array(s.position), img) for s, img in ((one, values[k]), (after, values[k + 1]))]
        local = [((point - origin)[0] / one.spacing[1], (point - origin)[1] / one.spacing[0]) for origin, _ in read]
        expected = 0.75 * _bilinear(read[0][1], *local[0]) + 0.25 * _bilinear(read[1][1], *local[1])
        assert sample(volume, values, point[None], -1024.0)[0] == pytest.approx(expected, abs=1e-9)
        assert local[0][1] - local[1][1] > 1.0   # the tilt moves the second slice's pixel by more than one row
    assert straight.describe()["bounds"] != volume.describe()["bounds"]


@pytest.mark.parametrize("change, words", [
    (lambda s: s[:1], "one image"),
    (lambda s: [dataclasses.replace(s[0], spacing=(float("nan"), 1.0))] + s[1:], "Pixel Spacing"),
    (lambda s: [dataclasses.replace(s[0], spacing=(0.0, 1.0))] + s[1:], "Pixel Spacing"),
    (lambda s: [s[0], dataclasses.replace(s[1], position=s[0].position)] + s[2:], "same position"),
    (lambda s: [dataclasses.replace(x, orientation=(2, 0, 0, 0, 2, 0)) for x in s], "unit vector"),
    (lambda s: [dataclasses.replace(x, orientation=(1, 0, 0, 1, 0, 0)) for x in s], "perpendicular"),
    (lambda s: [dataclasses.replace(s[0], orientation=(1, 0, 0, 0, 0, -1))] + s[1:], "more than one orientation"),
    (lambda s: [dataclasses.replace(s[0], frame_of_reference="1.2.3")] + s[1:], "Frame of Reference"),
    (lambda s: [dataclasses.replace(x, frame_of_reference="") for x in s], "no Frame of Reference"),
    (lambda s: [dataclasses.replace(s[0], rows=s[0].rows + 1)] + s[1:], "differ in size"),
    (lambda s: [dataclasses.replace(s[0], samples=3)] + s[1:], "colour"),
    (lambda s: [dataclasses.replace(s[0], position=(float("inf"), 0.0, 0.0))] + s[1:], "not finite"),
])
def test_hostile_stacks_name_the_reason(stack: tuple[list[Slice], list[np.ndarray]], change, words: str) -> None:  # type: ignore[no-untyped-def]
    """Each hostile stack is refused with its reason, never an arithmetic error."""
    slices, _ = stack
    with pytest.raises(NotVolume, match=words):
        volume_of(change(list(slices)))
