"""static/geometry.js in Chromium: image planes, points and the nearest slice, against numpy."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from test_viewer_viewstate import call, page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow   # a browser


def _call(page: Any, name: str, *args: Any) -> Any:  # noqa: F811
    return call(page, "geometry.js", name, *args)


def test_plane_of_a_tilted_slice(page: Any) -> None:  # noqa: F811
    """The normal is row x column of the Image Orientation (Patient), normalised."""
    orientation = [1, 0, 0, 0, float(np.cos(0.3)), float(np.sin(0.3))]   # a 0.3 rad gantry tilt
    plane = _call(page, "planeOf", {"position": [-120.0, -90.5, 33.0], "orientation": orientation})
    assert np.allclose(plane["normal"], np.cross(orientation[:3], orientation[3:]))
    assert _call(page, "planeOf", {"position": [0, 0], "orientation": orientation}) is None
    assert _call(page, "planeOf", {"position": [0, 0, 0], "orientation": [0, 0, 0, 0, 1, 0]}) is None


def test_point_at_image_coordinates(page: Any) -> None:  # noqa: F811
    """Pixel (c, r)'s centre is Position + c x column spacing x row cosines + r x row spacing x column cosines."""
    orientation = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]   # sagittal
    plane = _call(page, "planeOf", {"position": [10.0, -100.0, 50.0], "orientation": orientation})
    point = _call(page, "pointAt", plane, [0.8, 0.5], 3.5, 2.5)   # the centre of pixel (3, 2)
    expected = np.array([10.0, -100.0, 50.0]) + 3 * 0.5 * np.array(orientation[:3]) + 2 * 0.8 * np.array(orientation[3:])
    assert np.allclose(point, expected)


def test_nearest_slice_along_the_series_normal(page: Any) -> None:  # noqa: F811
    """nearestAlong picks the slice whose position along the normal is closest, as numpy's argmin."""
    rng = np.random.default_rng(7)
    normal = np.array([0.0, np.sin(0.2), np.cos(0.2)])
    offsets = np.sort(rng.uniform(-80, 80, 25))
    across = np.array([1.0, 0.0, 0.0])   # in the slice plane: it must not change the distance
    images = [{"plane": {"position": list(map(float, normal * z + across * rng.uniform(-50, 50)))}} for z in offsets]
    for target in rng.uniform(-100, 100, 20):
        index = _call(page, "nearestAlong", images, list(map(float, normal)), float(target))
        assert index == int(np.argmin(np.abs(offsets - target)))
    assert _call(page, "nearestAlong", [{"plane": None}], [0, 0, 1], 0) == -1
