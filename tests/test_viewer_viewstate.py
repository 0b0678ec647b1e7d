"""static/viewstate.js in Chromium: a viewport's view read from the URL's query and written back."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import chromium, sync_playwright
from test_viewer_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.slow   # a browser

STATIC = Path(__file__).resolve().parent.parent / "static"
#: An origin of its own: Playwright answers it from static/, no server runs.
ORIGIN = "http://viewstate.test"


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    """A page whose origin serves static/ (ES modules need http, not file:)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.route(f"{ORIGIN}/**", lambda route: route.fulfill(
            status=200, content_type="text/javascript" if route.request.url.endswith(".js") else "text/html",
            body=(STATIC / route.request.url.removeprefix(ORIGIN + "/")).read_text()
            if route.request.url.endswith(".js") else "<!doctype html><title>viewstate</title>"))
        page.goto(f"{ORIGIN}/index")
        yield page
        browser.close()


def call(page: Any, module: str, name: str, *args: Any) -> Any:
    """``name(...args)`` of static/``module``, run in the page."""
    return page.evaluate("""async ([url, name, args]) => (await import(url))[name](...args)""",
                         [f"{ORIGIN}/{module}", name, list(args)])


def _read(page: Any, query: str, count: int) -> dict[str, Any]:
    view: dict[str, Any] = page.evaluate("""async ([query, count]) => {
      const { viewFromParams } = await import('/viewstate.js');
      return viewFromParams(new URLSearchParams(query), count);
    }""", [query, count])
    return view


def _write(page: Any, view: dict[str, Any]) -> str:
    query: str = page.evaluate("""async (view) => {
      const { viewQuery } = await import('/viewstate.js');
      return viewQuery(view);
    }""", view)
    return query


class TestViewFromParams:
    def test_an_empty_query_is_the_first_image_fitted(self, page: Any) -> None:
        """No parameter: image 1, the default window, not inverted, fitted."""
        assert _read(page, "", 10) == {"index": 0, "window": None, "invert": False, "zoom": None, "pan": None}

    def test_every_field(self, page: Any) -> None:
        """image, window, invert, zoom and pan are all read."""
        assert _read(page, "image=3&window=-600,1500&invert=1&zoom=2.5&pan=10,-4.5", 10) == {
            "index": 2, "window": {"center": -600, "width": 1500}, "invert": True, "zoom": 2.5, "pan": [10, -4.5]}

    def test_voi_wins_over_window_and_must_be_a_number(self, page: Any) -> None:
        """voi=N names a file window; a voi that is not a number is ignored, and then window= applies."""
        assert _read(page, "voi=1&window=40,400", 5)["window"] == {"voi": 1}
        assert _read(page, "voi=x&window=40,400", 5)["window"] == {"center": 40, "width": 400}

    @pytest.mark.parametrize("window", ["40", "40,0", "40,-3", "a,b", "40,400,9"])
    def test_a_window_that_is_not_two_numbers_with_a_positive_width_is_the_default(self, page: Any,
                                                                                   window: str) -> None:
        """Malformed or impossible windows fall back to the default window."""
        assert _read(page, f"window={window}", 5)["window"] is None

    @pytest.mark.parametrize("image, index", [("0", 0), ("-4", 0), ("99", 4), ("x", 0), ("2", 1)])
    def test_the_image_is_clamped_to_the_series(self, page: Any, image: str, index: int) -> None:
        """image= beyond either end, or not a number, stays within the series' 5 images."""
        assert _read(page, f"image={image}", 5)["index"] == index


class TestViewQuery:
    @pytest.mark.parametrize("query", [
        "image=1", "image=4&voi=0", "image=2&window=40,400&invert=1",
        "image=5&window=-600,1500&zoom=1.75&pan=12.5,-3",
    ])
    def test_a_written_query_reads_back_the_same(self, page: Any, query: str) -> None:
        """viewQuery(viewFromParams(q)) is q for every query the viewer writes."""
        assert _write(page, _read(page, query, 5)) == query

    def test_zoom_and_pan_are_rounded(self, page: Any) -> None:
        """Zoom keeps 4 decimals and pan 1, so that the URL stays short."""
        assert _write(page, {"index": 0, "window": None, "invert": False, "zoom": 1.234567,
                             "pan": [3.14159, -2.71828]}) == "image=1&zoom=1.2346&pan=3.1,-2.7"
