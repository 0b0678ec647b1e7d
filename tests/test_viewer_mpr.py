"""static/mpr.js in Chromium through a real Orthanc: the client's reformats of the frames it loads, against numpy.

The real Radiomics Digital Phantom (pycerr's, ``make testdata``), its frames fetched by the page from
the pixels route as the viewer fetches them; the reference is tests/test_pixels_mpr.py's, on the
modality values pydicom reads from the same files.  The same contract as the server's MPR route.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from orthanc_process import OrthancProcess
from previewer.pixels import mpr
from test_pixels_mpr import _expected
from test_viewer_browser import VIEWPORT, browser  # noqa: F401  (the fixture)
from test_volumes import PHANTOM, _png, _upload, _window, phantom  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

_REFORMAT = """async ([series, plane, options]) => {
  const base = document.baseURI;
  const { api } = await import(new URL('api.js', base).href);
  const { fetchFrame, frameUrl } = await import(new URL('frame.js', base).href);
  const { planeOf } = await import(new URL('geometry.js', base).href);
  const { volumeOf, planeGrid, reformat } = await import(new URL('mpr.js', base).href);
  const answer = await api.series(series);
  const info = await api.info(answer.instances[0].id);
  const frames = await Promise.all(answer.instances.map((i) => fetchFrame(frameUrl(i.id, 0))));
  const slices = answer.instances.map((i, k) => ({ plane: planeOf(i), spacing: info.pixel_spacing, frame: frames[k] }));
  const volume = volumeOf(slices);
  const grid = planeGrid(volume, plane, options);
  const start = performance.now();
  const values = reformat(volume, grid);
  return { width: grid.width, height: grid.height, values: Array.from(values), ms: performance.now() - start };
}"""


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    process = OrthancProcess(tmp_path_factory.mktemp("mpr"), probe=False).start()
    yield process
    process.stop()


@pytest.mark.parametrize("plane, options, make", [
    ("coronal", {}, lambda v: mpr.plane_of(v, "coronal")),
    ("sagittal", {"position": -80.0}, lambda v: mpr.plane_of(v, "sagittal", position=-80.0)),
    ("axial", {"position": -3.5}, lambda v: mpr.plane_of(v, "axial", position=-3.5)),
    ("oblique", {"normal": [0, 0.5, 0.866], "up": [0, -1, 0]},
     lambda v: mpr.plane_of(v, "oblique", normal=(0, 0.5, 0.866), up=(0, -1, 0))),
])
def test_client_reformats_equal_numpy_and_the_server(browser: Any, orthanc: OrthancProcess, phantom,  # noqa: F811
                                                     plane: str, options: dict[str, Any], make) -> None:  # type: ignore[no-untyped-def]
    """Same grid as the server's contract; modality values within 1e-3 of numpy's; gray8 at 40/400 within
    mean 1 and p99 4 of the reference, and of the server's PNG of the same plane."""
    series, volume, values = phantom
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{orthanc.url}/previewer/index.html")
        result = page.evaluate(_REFORMAT, [series, plane, options])
    finally:
        context.close()
    grid = make(volume)
    assert (result["height"], result["width"]) == (grid.height, grid.width)
    got = np.array(result["values"], dtype=np.float64).reshape(grid.height, grid.width)
    expected = _expected(volume, values, grid.points())
    assert np.abs(got - expected).max() <= 1e-2   # float32 output
    inside = expected != values.min()
    windowed = _window(got, 40, 400)
    difference = np.abs(np.round(windowed) - _window(expected, 40, 400))[inside]
    assert difference.mean() <= 1 and np.percentile(difference, 99) <= 4
    query = "&".join(filter(None, ["window=40,400", "&".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in options.items())]))
    server = np.asarray(Image.open(io.BytesIO(_png(orthanc, series, plane, query).content)), dtype=np.float64)
    between = np.abs(server - np.round(windowed))[inside]
    assert between.mean() <= 1 and np.percentile(between, 99) <= 4
