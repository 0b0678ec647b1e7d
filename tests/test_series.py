"""The viewing order of a series' instances (previewer/series.py), from Orthanc's JSON."""
from __future__ import annotations

import pytest

from previewer.series import middle_image, order_instances
from test_api import SERIES_AXIAL, SERIES_MR, FakeOrthanc, _instance, _instance_id

@pytest.fixture
def orthanc() -> FakeOrthanc:
    return FakeOrthanc()


class TestOrderInstances:
    def test_position_along_normal_in_instance_number_direction(self, orthanc: FakeOrthanc) -> None:
        """Slices sort by position along the normal, turned so Instance Numbers grow."""
        axial = [i for i in orthanc.instances if i["ParentSeries"] == SERIES_AXIAL]
        ordered, method = order_instances(axial)
        assert method == "position"
        assert [row["number"] for row in ordered] == [1, 2, 3, 4]
        assert [row["location"] for row in ordered] == [0, -5, -10, -15]

    def test_position_wins_over_instance_number(self) -> None:
        """A slice numbered out of place still sorts by its position."""
        rows = [_instance(_instance_id(9, n), SERIES_AXIAL, n, f"0\\0\\{z}") for n, z in [(1, 0), (2, 10), (3, 5)]]
        ordered, _ = order_instances(rows)
        assert [row["location"] for row in ordered] == [0, 5, 10]

    def test_oblique_normal(self) -> None:
        """The projection uses the normal of an oblique orientation, not z."""
        orientation = "1,0,0\\0,0.7071068,-0.7071068"   # normal (0, 0.707, 0.707)
        positions = ["0\\10\\10", "0\\0\\0", "0\\20\\0"]   # along normal: 14.1, 0, 14.1 -> ties by number
        rows = [_instance(_instance_id(9, n), SERIES_AXIAL, n, p, orientation) for n, p in enumerate(positions, 1)]
        ordered, method = order_instances(rows)
        assert method == "position"
        assert [row["number"] for row in ordered] == [2, 1, 3]
        assert ordered[1]["location"] == pytest.approx(14.1421, abs=1e-3)

    def test_missing_position_falls_back_to_instance_number(self) -> None:
        """Without a position on every instance the order is Instance Number, then arrival."""
        rows = [_instance(_instance_id(9, 1), SERIES_AXIAL, 2, "0\\0\\0"),
                _instance(_instance_id(9, 2), SERIES_AXIAL, None, index=1),
                _instance(_instance_id(9, 3), SERIES_AXIAL, 1, None)]
        ordered, method = order_instances(rows)
        assert method == "instance-number"
        assert [row["id"] for row in ordered] == [_instance_id(9, 3), _instance_id(9, 1), _instance_id(9, 2)]
        assert ordered[2]["number"] is None and ordered[0]["location"] is None

    def test_mixed_orientations_fall_back_to_instance_number(self) -> None:
        """A scout among axial slices makes the position meaningless: Instance Number is used."""
        rows = [_instance(_instance_id(9, 1), SERIES_AXIAL, 1, "0\\0\\0"),
                _instance(_instance_id(9, 2), SERIES_AXIAL, 2, "0\\0\\-5", "1,0,0\\0,0,-1")]
        assert order_instances(rows)[1] == "instance-number"

    @pytest.mark.parametrize("bad", ["1\\2", "a\\b\\c", "nan\\0\\0", ""])
    def test_malformed_position_is_ignored(self, bad: str) -> None:
        """A position that is not three finite numbers counts as missing."""
        rows = [_instance(_instance_id(9, 1), SERIES_AXIAL, 1, bad), _instance(_instance_id(9, 2), SERIES_AXIAL, 2, "0\\0\\1")]
        ordered, method = order_instances(rows)
        assert method == "instance-number" and ordered[0]["position"] is None

    def test_frames(self) -> None:
        """NumberOfFrames gives the frame count; absent or invalid means 1."""
        rows = [_instance(_instance_id(9, 1), SERIES_MR, 1, frames=12), _instance(_instance_id(9, 2), SERIES_MR, 2),
                _instance(_instance_id(9, 3), SERIES_MR, 3, frames=0)]
        assert [row["frames"] for row in order_instances(rows)[0]] == [12, 1, 1]


class TestMiddleImage:
    def test_counts_frames_across_instances(self) -> None:
        """The middle image is the middle frame of all the series' frames, in viewing order."""
        rows = [{"id": "a", "frames": 1}, {"id": "b", "frames": 4}, {"id": "c", "frames": 1}]
        assert middle_image(rows) == ("b", 2)        # 6 frames: the 4th, frame 2 of b
        assert middle_image(rows[:1]) == ("a", 0)

    def test_no_frames_is_none(self) -> None:
        """A series without images has no middle image."""
        assert middle_image([]) is None
        assert middle_image([{"id": "a", "frames": 0}]) is None
