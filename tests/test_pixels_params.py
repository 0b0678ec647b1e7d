"""Tests of previewer.pixels.params."""

from __future__ import annotations

import pytest

from previewer.pixels.errors import BadParameter
from previewer.pixels.params import RenderParams, Window, parse_params


class TestParseParams:
    def test_empty_query_gives_defaults(self) -> None:
        """No parameters give the default RenderParams."""
        assert parse_params({}) == RenderParams()

    def test_window_two_values_is_linear(self) -> None:
        """window=C,W defaults to the LINEAR function."""
        assert parse_params({"window": "40,400"}).window == Window(
            40.0, 400.0, "LINEAR"
        )

    @pytest.mark.parametrize(
        ("text", "function"),
        [
            ("linear", "LINEAR"),
            ("linear_exact", "LINEAR_EXACT"),
            ("sigmoid", "SIGMOID"),
        ],
    )
    def test_window_function_names(self, text: str, function: str) -> None:
        """The third window value selects the VOI LUT Function."""
        assert parse_params({"window": f"-10.5,2.5,{text}"}).window == Window(
            -10.5, 2.5, function
        )

    def test_split_window_parameters(self) -> None:
        """window-center and window-width are accepted as Orthanc does."""
        params = parse_params({"window-center": "-600", "window-width": "1500"})
        assert params.window == Window(-600.0, 1500.0, "LINEAR")

    @pytest.mark.parametrize(
        ("query", "needle"),
        [
            ({"window": "40"}, "'window'"),
            ({"window": "a,400"}, "'window'"),
            ({"window": "40,nan"}, "finite"),
            ({"window": "40,0.5"}, ">= 1"),
            ({"window": "40,0,linear_exact"}, "> 0"),
            ({"window": "40,400,gamma"}, "linear|linear_exact|sigmoid"),
            ({"window-center": "40"}, "together"),
            ({"window": "1,2", "window-width": "3"}, "not both"),
            ({"voi": "-1"}, "'voi'"),
            ({"voi": "0", "window": "1,2"}, "mutually exclusive"),
            ({"format": "jpeg"}, "gray8|gray16|signed16|rgb24|rgba32"),
            ({"invert": "yes"}, "'invert'"),
            ({"size": "0"}, "'size'"),
            ({"width": "abc"}, "'width'"),
            ({"size": "10", "height": "5"}, "not both"),
            ({"padding": "black"}, "'padding'"),
            ({"padding": "transparent", "format": "gray8"}, "rgba32"),
        ],
    )
    def test_bad_values_name_the_parameter(
        self, query: dict[str, str], needle: str
    ) -> None:
        """Malformed values raise BadParameter naming parameter or accepted values."""
        with pytest.raises(BadParameter) as info:
            parse_params(query)
        assert needle in info.value.message
        assert info.value.status == 400

    def test_sigmoid_accepts_width_below_one(self) -> None:
        """SIGMOID and LINEAR_EXACT accept 0 < width < 1, unlike LINEAR."""
        assert parse_params({"window": "0,0.25,sigmoid"}).window == Window(
            0.0, 0.25, "SIGMOID"
        )

    def test_padding_implies_rgba32(self) -> None:
        """padding=transparent selects rgba32 output."""
        params = parse_params({"padding": "transparent"})
        assert params.format == "rgba32" and params.transparent_padding

    def test_size_sets_both_bounds(self) -> None:
        """size=N bounds width and height."""
        params = parse_params({"size": "128"})
        assert (params.max_width, params.max_height) == (128, 128)

    def test_width_only(self) -> None:
        """width= alone leaves height unbounded."""
        params = parse_params({"width": "64"})
        assert (params.max_width, params.max_height) == (64, None)

    def test_unknown_parameters_ignored(self) -> None:
        """Parameters the pipeline does not know are ignored."""
        assert parse_params({"quality": "90", "frame": "3"}) == RenderParams()

    def test_voi_and_invert(self) -> None:
        """voi=K and invert=1 are parsed."""
        params = parse_params({"voi": "2", "invert": "1", "format": "gray16"})
        assert (params.voi, params.invert, params.format) == (2, True, "gray16")


class TestCacheKey:
    def test_equal_for_equivalent_spellings(self) -> None:
        """Equivalent queries give the same key."""
        a = parse_params({"window": "40,400"})
        b = parse_params({"window-center": "40.0", "window-width": "4e2"})
        assert a.cache_key() == b.cache_key()

    @pytest.mark.parametrize(
        "query",
        [
            {"window": "40,401"},
            {"window": "40,400,sigmoid"},
            {"voi": "0"},
            {"format": "gray16"},
            {"invert": "1"},
            {"size": "10"},
            {"width": "10"},
            {"height": "10"},
            {"padding": "transparent"},
            {"format": "rgba32"},
        ],
    )
    def test_differs_for_each_parameter(self, query: dict[str, str]) -> None:
        """Changing any rendering parameter changes the key."""
        assert (
            parse_params(query).cache_key()
            != parse_params({"window": "40,400"}).cache_key()
        )
        assert parse_params(query).cache_key() != parse_params({}).cache_key()

    def test_padding_differs_from_plain_rgba(self) -> None:
        """padding=transparent and format=rgba32 differ."""
        a = parse_params({"padding": "transparent"}).cache_key()
        assert a != parse_params({"format": "rgba32"}).cache_key()
