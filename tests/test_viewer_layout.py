"""Layouts of the viewer in Chromium through a real Orthanc: viewports, the active one, placing series, the URL."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orthanc_process import OrthancProcess
from test_viewer_browser import CT_AXIAL, CT_SCOUT, VIEWPORT, Server, Viewer, browser, viewer  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.slow

# The study of pydicom's CT files: series 4 (Scout, 2 images) comes before series 5 (axial, 5 slices) in the strip.
LAYOUTS = {"1x1": (1, 1), "1x2": (1, 2), "2x1": (2, 1), "2x2": (2, 2), "3x3": (3, 3)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[Server]:
    """An Orthanc with the plugin and the two series of one real CT study."""
    orthanc = OrthancProcess(tmp_path_factory.mktemp("layout") / "orthanc").start()
    try:
        server = Server(orthanc)
        for path in CT_SCOUT + CT_AXIAL:
            server.uploads.setdefault("ct-scout" if path in CT_SCOUT else "ct-axial", orthanc.upload(path))
        yield server
    finally:
        orthanc.stop()



def _viewports(viewer: Viewer) -> list[dict[str, Any]]:
    """Each viewport on screen: its data attributes and its box."""
    return viewer.page.evaluate("""() => [...document.querySelectorAll('[data-viewport]')].map((node) => {
      const box = node.getBoundingClientRect();
      return {...node.dataset, visible: !node.hidden, x: box.x, y: box.y, w: box.width, h: box.height};
    })""")  # type: ignore[no-any-return]


def _wait_shown(viewer: Viewer, index: int, series: str) -> None:
    viewer.page.wait_for_function("""([index, series]) => {
      const node = document.querySelector(`[data-viewport="${index}"]`);
      return node && node.dataset.series === series && node.dataset.state === 'ready' && node.dataset.instance;
    }""", arg=[index, series])


def test_layout_from_the_hash_fills_with_the_next_series(viewer: Viewer, server: Server) -> None:
    """layout=1x2 puts the named series first and the strip's next series second; the first is active."""
    viewer.goto(f"#/series/{server.series('ct-scout')}?layout=1x2")
    _wait_shown(viewer, 1, server.series("ct-axial"))
    _wait_shown(viewer, 0, server.series("ct-scout"))
    first, second = _viewports(viewer)
    assert (first["viewport"], second["viewport"]) == ("0", "1")
    assert (first["active"], second["active"]) == ("true", "false")
    assert second["x"] > first["x"] + first["w"] - 4 and abs(second["y"] - first["y"]) < 2   # side by side
    assert " / 5" in viewer.text('[data-viewport="1"] .overlay-position')


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_each_layout_from_the_menu(viewer: Viewer, server: Server, name: str) -> None:
    """The layout menu gives rows x columns viewports of equal size in a grid, and the hash names it."""
    viewer.open_series("ct-axial")
    viewer.page.select_option("#layout", name)
    rows, columns = LAYOUTS[name]
    viewer.page.wait_for_function("(n) => document.querySelectorAll('[data-viewport]').length === n", arg=rows * columns)
    boxes = _viewports(viewer)
    assert [b["viewport"] for b in boxes] == [str(i) for i in range(rows * columns)]
    assert len({round(b["x"]) for b in boxes}) == columns and len({round(b["y"]) for b in boxes}) == rows
    assert max(b["w"] for b in boxes) - min(b["w"] for b in boxes) < 2
    assert [b["active"] for b in boxes].count("true") == 1
    viewer.page.wait_for_function("(name) => name === '1x1' ? !location.hash.includes('layout=')"
                                  " : location.hash.includes(`layout=${name}`)", arg=name)


def test_keyboard_cycles_layouts(viewer: Viewer, server: Server) -> None:
    """G steps through 1x1, 1x2, 2x1, 2x2, 3x3 and back to 1x1."""
    viewer.open_series("ct-axial")
    counts = []
    for _ in range(5):
        viewer.page.keyboard.press("g")
        counts.append(viewer.page.evaluate("document.querySelectorAll('[data-viewport]').length"))
    assert counts == [2, 2, 4, 9, 1]


def test_a_click_activates_a_viewport_that_takes_the_keyboard(viewer: Viewer, server: Server) -> None:
    """Clicking the second viewport outlines it; the arrow keys then move its image, not the first one's."""
    viewer.goto(f"#/series/{server.series('ct-axial')}?layout=1x2&v1={server.series('ct-axial')}")
    _wait_shown(viewer, 0, server.series("ct-axial"))
    _wait_shown(viewer, 1, server.series("ct-axial"))
    viewer.page.click('[data-viewport="1"] canvas')
    assert [b["active"] for b in _viewports(viewer)] == ["false", "true"]
    outline = viewer.page.evaluate("getComputedStyle(document.querySelector('[data-viewport=\"1\"]')).outlineColor")
    assert outline != "rgba(0, 0, 0, 0)"
    viewer.page.click("#sync-position")   # one series twice: by position they would move together
    viewer.page.keyboard.press("ArrowDown")
    viewer.page.keyboard.press("ArrowDown")
    viewer.page.wait_for_function("() => document.querySelector('[data-viewport=\"1\"] .overlay-position').textContent"
                                  ".startsWith('Image 3 /')")
    assert viewer.text('[data-viewport="0"] .overlay-position').startswith("Image 1 /")
    assert viewer.page.input_value("#slider") == "3"   # the toolbar follows the active viewport


def test_each_viewport_has_its_own_window(viewer: Viewer, server: Server) -> None:
    """A CT preset chosen in the active viewport windows it alone."""
    viewer.goto(f"#/series/{server.series('ct-axial')}?layout=1x2&v1={server.series('ct-axial')}")
    _wait_shown(viewer, 1, server.series("ct-axial"))
    viewer.page.click('[data-viewport="1"] canvas', button="middle")
    viewer.page.keyboard.press("2")   # the second CT preset
    viewer.page.wait_for_function("() => !document.querySelector('[data-viewport=\"1\"] .overlay-window')"
                                  ".textContent.includes('(file)')")
    assert "(file)" in viewer.text('[data-viewport="0"] .overlay-window')


def test_a_thumbnail_click_fills_the_active_viewport(viewer: Viewer, server: Server) -> None:
    """Clicking a thumbnail puts its series in the active viewport, and the page stays on the same screen."""
    viewer.goto(f"#/series/{server.series('ct-axial')}?layout=1x2&v1={server.series('ct-axial')}")
    _wait_shown(viewer, 1, server.series("ct-axial"))
    viewer.page.click('[data-viewport="1"] canvas')
    viewer.page.click(f'.series-card[data-series="{server.series("ct-scout")}"]')
    _wait_shown(viewer, 1, server.series("ct-scout"))
    assert _viewports(viewer)[0]["series"] == server.series("ct-axial")
    viewer.page.wait_for_function("(id) => location.hash.includes(`v1=${id}`)", arg=server.series("ct-scout"))


def test_a_thumbnail_dragged_onto_a_viewport_fills_it(viewer: Viewer, server: Server) -> None:
    """Dragging a thumbnail onto the first viewport shows that series there and makes it active."""
    viewer.goto(f"#/series/{server.series('ct-axial')}?layout=1x2&active=1")
    _wait_shown(viewer, 1, server.series("ct-scout"))
    viewer.page.drag_and_drop(f'.series-card[data-series="{server.series("ct-scout")}"]', '[data-viewport="0"]')
    _wait_shown(viewer, 0, server.series("ct-scout"))
    assert [b["active"] for b in _viewports(viewer)] == ["true", "false"]


def test_double_click_maximises_and_restores(viewer: Viewer, server: Server) -> None:
    """A double click fills the screen with one viewport; a second brings the layout back."""
    viewer.goto(f"#/series/{server.series('ct-axial')}?layout=2x2")
    _wait_shown(viewer, 1, server.series("ct-scout"))
    grid = _viewports(viewer)
    viewer.page.dblclick('[data-viewport="1"] canvas')
    boxes = _viewports(viewer)
    assert [b["visible"] for b in boxes] == [False, True, False, False]
    assert boxes[1]["w"] > 1.8 * grid[1]["w"] and boxes[1]["active"] == "true"
    viewer.page.dblclick('[data-viewport="1"] canvas')
    assert [b["visible"] for b in _viewports(viewer)] == [True] * 4


def test_the_url_restores_the_screen(browser: Any, viewer: Viewer, server: Server) -> None:
    """The hash holds each viewport's series, image and window: a second page opened on it shows the same screen."""
    axial, scout = server.series("ct-axial"), server.series("ct-scout")
    viewer.goto(f"#/series/{axial}?layout=1x2&v1={scout}")
    _wait_shown(viewer, 1, scout)
    _wait_shown(viewer, 0, axial)   # a preset key before the first viewport's series is known does nothing
    viewer.page.keyboard.press("End")
    viewer.page.keyboard.press("3")
    viewer.page.click('[data-viewport="1"] canvas')
    viewer.page.keyboard.press("ArrowDown")
    viewer.page.keyboard.press("i")
    viewer.page.wait_for_function("() => location.hash.includes('v1.image=2') && location.hash.includes('v1.invert=1')"
                                  " && location.hash.includes('window=')")
    shown = [{k: b[k] for k in ("series", "instance", "frame", "active")} for b in _viewports(viewer)]
    texts = [viewer.text(f'[data-viewport="{i}"] .overlay-window') for i in range(2)]
    hash_ = viewer.page.evaluate("location.hash")
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        second = Viewer(page, server)
        second.goto(hash_)
        _wait_shown(second, 1, scout)
        _wait_shown(second, 0, axial)
        assert [{k: b[k] for k in ("series", "instance", "frame", "active")} for b in _viewports(second)] == shown
        assert [second.text(f'[data-viewport="{i}"] .overlay-window') for i in range(2)] == texts
        assert second.unexpected_errors() == []
    finally:
        context.close()


def test_each_viewport_has_its_own_tool_and_zoom(viewer: Viewer, server: Server) -> None:
    """The tool and the zoom chosen in the active viewport stay in it; the toolbar shows the active one's tool."""
    viewer.goto(f"#/series/{server.series('ct-axial')}?layout=1x2&v1={server.series('ct-axial')}")
    _wait_shown(viewer, 1, server.series("ct-axial"))
    viewer.page.click('[data-viewport="1"] canvas', button="middle")
    viewer.page.keyboard.press("l")
    viewer.page.keyboard.press("+")
    tools = viewer.page.eval_on_selector_all("[data-viewport] canvas", "(nodes) => nodes.map((n) => n.dataset.tool)")
    assert tools == ["window", "length"]
    assert viewer.page.get_attribute('[data-tool="length"]', "aria-pressed") == "true"
    zooms = [viewer.text(f'[data-viewport="{i}"] .overlay-zoom') for i in range(2)]
    assert zooms[0].endswith("(fit)") and not zooms[1].endswith("(fit)")
    viewer.page.click('[data-viewport="0"] canvas', button="middle")
    assert viewer.page.get_attribute('[data-tool="window"]', "aria-pressed") == "true"
