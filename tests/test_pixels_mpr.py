"""previewer.pixels.mpr: the plane grids of the MPR contract, and reformats and slabs against numpy.

On the real Radiomics Digital Phantom (patient 1, 60 axial CT slices; ``make testdata``).  The
reference is this file's own: grid points built from the contract's words, values by the
hand-written trilinear of tests/test_pixels_volume.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from previewer.pixels import mpr
from previewer.pixels.errors import BadParameter
from previewer.pixels.volume import volume_of
from test_pixels_volume import _ordered, _reference, stack  # noqa: F401  (the fixture)


@pytest.fixture(scope="module")
def phantom(stack):  # type: ignore[no-untyped-def]  # noqa: F811
    slices, frames = stack
    volume = volume_of(slices)
    return volume, np.array(_ordered(volume, slices, frames))


def _expected(volume, values, points):  # type: ignore[no-untyped-def]
    """The reference at grid points: the hand trilinear inside the volume, the lowest value outside."""
    origin = np.array(volume.slices[0].position)
    flat = points.reshape(-1, 3)
    low, high = volume.bounds()
    inside = np.all((flat >= low - 1e-6) & (flat <= high + 1e-6), axis=1)
    out = np.full(flat.shape[0], values.min())
    out[inside] = _reference(values, origin, (volume.spacing[1], volume.spacing[0]), volume.offsets, flat[inside],
                             (volume.row, volume.column, volume.normal))
    return out.reshape(points.shape[:-1])


def _grid(volume, columns, rows, fixed):  # type: ignore[no-untyped-def]
    """Points from the contract: grid coordinates min + k x spacing; rows along -z start at the top one."""
    s = min(volume.spacing)
    low, high = volume.bounds()
    axis = [low[i] + np.arange(int(np.floor((high[i] - low[i]) / s + 1e-9)) + 1) * s for i in range(3)]
    (ci, cs), (ri, rs) = columns, rows
    cs_values = axis[ci] if cs > 0 else axis[ci][::-1]
    rs_values = axis[ri] if rs > 0 else axis[ri][::-1]
    points = np.zeros((len(rs_values), len(cs_values), 3))
    points[:, :, ci] = cs_values[None, :]
    points[:, :, ri] = rs_values[:, None]
    axis_index, value = fixed
    points[:, :, axis_index] = value
    return points


@pytest.mark.parametrize("name, columns, rows, fixed", [
    ("axial", (0, 1), (1, 1), 2), ("coronal", (0, 1), (2, -1), 1), ("sagittal", (1, 1), (2, -1), 0)])
def test_planes_follow_the_contract(phantom, name: str, columns, rows, fixed: int) -> None:  # type: ignore[no-untyped-def]
    """Each standard plane's grid and values equal the reference built from the contract's words."""
    volume, values = phantom
    low, high = volume.bounds()
    position = float(low[fixed] + 0.37 * (high[fixed] - low[fixed]))
    plane = mpr.plane_of(volume, name, position=position)
    points = _grid(volume, columns, rows, (fixed, position))
    assert (plane.height, plane.width) == points.shape[:2]
    assert np.allclose(plane.points(), points)
    got = mpr.reformat(volume, values, plane, float(values.min()))
    assert np.abs(got - _expected(volume, values, points)).max() <= 1e-6


def test_default_position_is_the_centre_and_index_steps(phantom) -> None:  # type: ignore[no-untyped-def]
    """No position: the box's centre; index=k: the k-th grid coordinate from the minimum."""
    volume, _ = phantom
    low, high = volume.bounds()
    assert mpr.plane_of(volume, "coronal").position == pytest.approx((low[1] + high[1]) / 2)
    assert mpr.plane_of(volume, "sagittal", index=7).position == pytest.approx(low[0] + 7 * min(volume.spacing))


def test_an_axial_plane_on_a_slice_is_that_slice(phantom) -> None:  # type: ignore[no-untyped-def]
    """The output grid is the slices' pixel grid (isotropic spacing, same corner): values equal, exactly."""
    volume, values = phantom
    plane = mpr.plane_of(volume, "axial", position=volume.slices[20].position[2])
    got = mpr.reformat(volume, values, plane, float(values.min()))
    assert got.shape == values[20].shape
    assert np.abs(got - values[20]).max() < 1e-6


def test_oblique_along_the_axes_is_the_standard_plane(phantom) -> None:  # type: ignore[no-untyped-def]
    """normal 0,0,1 with up 0,-1,0 is the axial plane; normal 0,1,0 with up 0,0,1 the coronal one."""
    volume, values = phantom
    for name, normal, up in (("axial", (0, 0, 1), (0, -1, 0)), ("coronal", (0, 1, 0), (0, 0, 1))):
        standard = mpr.plane_of(volume, name)
        oblique = mpr.plane_of(volume, "oblique", normal=normal, up=up, position=standard.position)
        assert np.allclose(oblique.points(), standard.points())


def test_a_tilted_oblique_plane_equals_the_reference(phantom) -> None:  # type: ignore[no-untyped-def]
    """An oblique plane 30 degrees off axial: values at its points equal the reference's."""
    volume, values = phantom
    normal = (0.0, np.sin(np.pi / 6), np.cos(np.pi / 6))
    plane = mpr.plane_of(volume, "oblique", normal=normal, up=(0, -1, 0))
    got = mpr.reformat(volume, values, plane, float(values.min()))
    expected = _expected(volume, values, plane.points())
    inside = expected != values.min()
    assert inside.sum() > 10_000
    assert np.abs(got - expected)[inside].max() <= 1e-6


@pytest.mark.parametrize("projection, combine", [("mip", np.max), ("minip", np.min), ("mean", np.mean)])
def test_slabs_are_exact_projections(phantom, projection: str, combine) -> None:  # type: ignore[no-untyped-def]
    """A 12 mm coronal slab: the max, min or mean over the planes every output spacing, as numpy computes them."""
    volume, values = phantom
    plane = mpr.plane_of(volume, "coronal")
    got = mpr.reformat(volume, values, plane, float(values.min()), slab=12.0, projection=projection)
    steps = int(np.floor(12.0 / plane.spacing + 1e-9)) + 1
    planes = np.stack([_expected(volume, values, plane.points(float(o))) for o in np.linspace(-6, 6, steps)])
    assert np.abs(got - combine(planes, axis=0)).max() <= 1e-6


@pytest.mark.parametrize("arguments, words", [
    ({"name": "diagonal"}, "plane must be"),
    ({"name": "oblique", "up": (0, 0, 1)}, "'normal' is required"),
    ({"name": "oblique", "normal": (0, 0, 1), "up": (0, 0, 2)}, "not be parallel"),
    ({"name": "oblique", "normal": (0, 0, 0), "up": (0, 0, 1)}, "not all zero"),
    ({"name": "axial", "index": 10_000}, "'index' must be in"),
    ({"name": "axial", "index": 1, "position": 3.0}, "mutually exclusive"),
    ({"name": "axial", "position": float("nan")}, "finite"),
])
def test_bad_planes_are_named(phantom, arguments, words: str) -> None:  # type: ignore[no-untyped-def]
    """Every impossible plane is a BadParameter naming what is wrong."""
    volume, _ = phantom
    name = arguments.pop("name")
    with pytest.raises(BadParameter, match=words):
        mpr.plane_of(volume, name, **arguments)


def test_bad_slabs_are_named(phantom) -> None:  # type: ignore[no-untyped-def]
    """A negative slab, an unknown projection, a slab of too many planes."""
    volume, values = phantom
    plane = mpr.plane_of(volume, "axial")
    for slab, projection, words in ((-1.0, "mip", "non-negative"), (4.0, "max", "projection"), (1e6, "mip", "planes")):
        with pytest.raises(BadParameter, match=words):
            mpr.reformat(volume, values, plane, 0.0, slab, projection)
