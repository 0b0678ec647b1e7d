"""Planes through a volume (multiplanar reformats), and thick slabs: the geometry of the MPR route.

The contract (tests and users compare against it):

- the output spacing is isotropic: the finest Pixel Spacing value of the volume;
- the image spans the axis-aligned box of the voxel centres (:meth:`Volume.bounds`), sampled at
  that spacing from the box's minimum corner: grid coordinates ``min + k * spacing`` along each
  patient axis, ``k = 0 .. floor((max - min) / spacing)``;
- orientation is radiological, in DICOM LPS: **axial** columns +x (patient right to left), rows +y
  (anterior to posterior); **coronal** columns +x, rows -z (superior to inferior); **sagittal**
  columns +y, rows -z;
- ``position`` is the plane's coordinate in mm on the remaining axis (z, y or x), by default the
  centre of the box; ``index`` steps through the grid coordinates of that axis instead;
- **oblique** takes ``normal`` and ``up``: columns run along normal x up, rows along -up (up made
  perpendicular to the normal), the extent covers the projection of the box's corners on a grid
  through the box's minimum corner, and
  ``position`` is the coordinate along the normal; axial is normal +z, up -y; coronal normal +y,
  up +z; sagittal normal -x, up +z;
- ``slab`` (mm) with ``projection`` mip, minip or mean: planes every output spacing from
  -slab/2 to +slab/2 around the plane, combined point by point over the samples inside the volume.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import BadParameter
from .volume import Volume, sample

PLANES = ("axial", "coronal", "sagittal", "oblique")
PROJECTIONS = ("mip", "minip", "mean")
#: Output images larger than this many pixels are refused (the box of a hostile geometry).
MAX_PIXELS = 4096 * 4096
#: A slab holds at most this many planes.
MAX_SLAB_PLANES = 512

# plane -> (column axis, its sign), (row axis, its sign), remaining axis: x 0, y 1, z 2.
_AXES = {"axial": ((0, 1), (1, 1), 2), "coronal": ((0, 1), (2, -1), 1), "sagittal": ((1, 1), (2, -1), 0)}


@dataclass(frozen=True)
class Plane:
    """A sampling grid: pixel (c, r) is at ``origin + c * spacing * columns + r * spacing * rows``."""

    origin: NDArray[np.float64]
    columns: NDArray[np.float64]   # unit vector along a row of the output
    rows: NDArray[np.float64]      # unit vector down a column of the output
    normal: NDArray[np.float64]
    spacing: float
    width: int
    height: int
    position: float                # mm: on the remaining axis, or along the normal (oblique)

    def points(self, offset: float = 0.0) -> NDArray[np.float64]:
        """The patient-space points of every output pixel, (height, width, 3), moved ``offset`` mm along the normal."""
        c = np.arange(self.width, dtype=np.float64)
        r = np.arange(self.height, dtype=np.float64)
        base = self.origin + offset * self.normal
        return (base[None, None, :] + c[None, :, None] * self.spacing * self.columns[None, None, :]
                + r[:, None, None] * self.spacing * self.rows[None, None, :])


def _vector(value: Sequence[float] | None, name: str) -> NDArray[np.float64]:
    if value is None:
        raise BadParameter(f"Parameter '{name}' is required for an oblique plane, as x,y,z")
    v = np.array(value, dtype=np.float64)
    length = float(np.linalg.norm(v))
    if v.shape != (3,) or not math.isfinite(length) or length == 0:
        raise BadParameter(f"Parameter '{name}' must be three finite numbers, not all zero")
    return v / length


def _anchored(along: NDArray[np.float64], anchor: float, spacing: float) -> tuple[float, int]:
    """The first grid coordinate ``anchor + k * spacing`` at or after the smallest of ``along``, and how many reach its largest."""
    start = anchor + math.ceil((float(along.min()) - anchor) / spacing - 1e-9) * spacing
    return start, _count(start, float(along.max()), spacing)


def _count(low: float, high: float, spacing: float) -> int:
    count = int(math.floor((high - low) / spacing + 1e-9)) + 1
    return max(1, count)


def plane_of(volume: Volume, name: str, *, position: float | None = None, index: int | None = None,
             normal: Sequence[float] | None = None, up: Sequence[float] | None = None) -> Plane:
    """The grid of plane ``name`` through ``volume`` (see the module's contract)."""
    if name not in PLANES:
        raise BadParameter(f"plane must be one of {', '.join(PLANES)}, got {name[:40]!r}")
    spacing = min(volume.spacing)
    low, high = volume.bounds()
    if name == "oblique":
        n = _vector(normal, "normal")
        u = _vector(up, "up")
        u = u - (u @ n) * n
        if np.linalg.norm(u) < 1e-6:
            raise BadParameter("Parameters 'normal' and 'up' must not be parallel")
        u /= np.linalg.norm(u)
        columns, rows = np.cross(n, u), -u
        corners = np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])])
        # On each axis of the plane, the grid through the box's minimum corner that covers the corners' projections.
        (start_c, width), (start_r, height), (start_n, depth) = (
            _anchored(corners @ axis, float(np.asarray(low) @ axis), spacing) for axis in (columns, rows, n))
        where = _where(position, index, start_n, spacing, depth, float(((corners @ n).min() + (corners @ n).max()) / 2))
        origin = start_c * columns + start_r * rows + where * n
        return _checked(Plane(origin, columns, rows, n, spacing, width, height, where))
    (ci, cs), (ri, rs), ni = _AXES[name]
    counts = [_count(low[i], high[i], spacing) for i in range(3)]
    columns, rows, n = np.zeros(3), np.zeros(3), np.zeros(3)
    columns[ci], rows[ri], n[ni] = cs, rs, 1.0
    where = _where(position, index, float(low[ni]), spacing, counts[ni], (low[ni] + high[ni]) / 2)
    origin = np.array(low, dtype=np.float64)
    if rs < 0:
        origin[ri] = low[ri] + (counts[ri] - 1) * spacing   # rows run down from the top grid coordinate
    origin[ni] = where
    return _checked(Plane(origin, columns, rows, n, spacing, counts[ci], counts[ri], where))


def _where(position: float | None, index: int | None, start: float, spacing: float, count: int,
           centre: float) -> float:
    if position is not None and index is not None:
        raise BadParameter("Parameters 'position' and 'index' are mutually exclusive")
    if index is not None:
        if not 0 <= index < count:
            raise BadParameter(f"Parameter 'index' must be in 0..{count - 1}, got {index}")
        return start + index * spacing
    if position is not None:
        if not math.isfinite(position):
            raise BadParameter("Parameter 'position' must be a finite number of mm")
        return float(position)
    return float(centre)


def _checked(plane: Plane) -> Plane:
    if plane.width * plane.height > MAX_PIXELS:
        raise BadParameter(f"the plane would be {plane.width}x{plane.height} pixels, over {MAX_PIXELS}")
    return plane


def reformat(volume: Volume, frames: Sequence[NDArray[Any]], plane: Plane, background: float,
             slab: float = 0.0, projection: str = "mip") -> NDArray[np.float64]:
    """The modality values of ``plane`` (height, width): trilinear, or a slab's projection."""
    if projection not in PROJECTIONS:
        raise BadParameter(f"Parameter 'projection' must be one of {'|'.join(PROJECTIONS)}, got {projection[:40]!r}")
    if not (math.isfinite(slab) and slab >= 0):
        raise BadParameter("Parameter 'slab' must be a non-negative number of mm")
    if slab == 0:
        return sample(volume, frames, plane.points(), background)
    steps = int(math.floor(slab / plane.spacing + 1e-9)) + 1
    if steps > MAX_SLAB_PLANES:
        raise BadParameter(f"a slab of {slab} mm is over {MAX_SLAB_PLANES} planes at {plane.spacing} mm")
    offsets = np.linspace(-slab / 2, slab / 2, steps) if steps > 1 else np.zeros(1)
    stack = np.stack([sample(volume, frames, plane.points(float(o)), np.nan) for o in offsets])
    empty = np.all(np.isnan(stack), axis=0)
    filled = np.where(np.isnan(stack), 0.0, stack)
    if projection == "mean":
        counts = np.maximum((~np.isnan(stack)).sum(axis=0), 1)
        out = filled.sum(axis=0) / counts
    elif projection == "mip":
        out = np.where(np.isnan(stack), -np.inf, stack).max(axis=0)
    else:
        out = np.where(np.isnan(stack), np.inf, stack).min(axis=0)
    return np.where(empty, background, out)
