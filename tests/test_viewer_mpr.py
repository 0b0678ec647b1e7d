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

_REFORMAT = """async ([series, plane, options, thickness, projection]) => {
  const base = document.baseURI;
  const { api } = await import(new URL('api.js', base).href);
  const { fetchFrame, frameUrl } = await import(new URL('frame.js', base).href);
  const { volumeOf, planeGrid, slab, transposed } = await import(new URL('mpr.js', base).href);
  const { GpuReformat } = await import(new URL('mpr-webgl.js', base).href);
  const answer = await api.volume(series);
  const { row, column, normal } = answer.orientation;
  const frames = await Promise.all(answer.images.map((i) => fetchFrame(frameUrl(i.instance, i.frame))));
  const slices = answer.images.map((i, k) => ({ plane: { position: i.position, row, column, normal },
    spacing: [answer.spacing.row, answer.spacing.column], frame: frames[k] }));
  const volume = volumeOf(slices);
  const grid = planeGrid(volume, plane, options);
  const cpu = slab(volume, grid, thickness, projection);
  const copies = volumeOf(slices.map((s) => ({ ...s, transposed: transposed(s.frame.values, s.frame.columns, s.frame.rows) })));
  const columnMajor = slab(copies, grid, thickness, projection);
  const gpu = GpuReformat.create(volume);
  const ready = Boolean(gpu && gpu.ready(volume));
  const webgl2 = ready ? gpu.slab(volume, grid, thickness, projection) : null;
  return { width: grid.width, height: grid.height, cpu: Array.from(cpu), 'cpu-column-major': Array.from(columnMajor),
    webgl2: webgl2 && Array.from(webgl2),
    reason: gpu ? gpu.failed : 'no WebGL2 context with float render targets' };
}"""
ENGINES = ("cpu", "cpu-column-major", "webgl2")
# Largest |difference| from numpy in modality units: the CPU computes in float64 and stores float32; the GPU
# computes in float32 (weights and positions too), a few hundredths of a HU on a 1000 HU edge.
TOLERANCE = {"cpu": 1e-2, "cpu-column-major": 1e-2, "webgl2": 5e-2}


def _client_reformat(browser: Any, orthanc: OrthancProcess, series: str, plane: str,  # noqa: F811
                     options: dict[str, Any], thickness: float = 0, projection: str = "mip") -> dict[str, np.ndarray]:
    """The page's reformat of ``plane`` of ``series`` (_REFORMAT) by each engine, shaped rows x columns, in a
    fresh browser context: the CPU's (mpr.js) from the frames, and from their column-major copies too (as the
    viewer keeps them, volume.js), and the WebGL2 3D texture's (mpr-webgl.js)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{orthanc.url}/previewer/index.html")
        result = page.evaluate(_REFORMAT, [series, plane, options, thickness, projection])
    finally:
        context.close()
    assert result["webgl2"] is not None, result["reason"]
    shape = (result["height"], result["width"])
    return {engine: np.array(result[engine], dtype=np.float64).reshape(shape) for engine in ENGINES}


def _assert_grey_close(difference: np.ndarray) -> None:
    """The issue's bound on gray8 differences: mean |d| <= 1 and 99th percentile <= 4 grey levels."""
    assert difference.mean() <= 1 and np.percentile(difference, 99) <= 4


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
    """Same grid as the server's contract; each engine's modality values within TOLERANCE of numpy's; gray8 at 40/400
    within mean 1 and p99 4 of the reference, and of the server's PNG of the same plane."""
    series, volume, values = phantom
    result = _client_reformat(browser, orthanc, series, plane, options)
    grid = make(volume)
    expected = _expected(volume, values, grid.points())
    inside = expected != values.min()
    query = "&".join(filter(None, ["window=40,400", "&".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in options.items())]))
    server = np.asarray(Image.open(io.BytesIO(_png(orthanc, series, plane, query).content)), dtype=np.float64)
    for engine, got in result.items():
        assert got.shape == (grid.height, grid.width), engine
        assert np.abs(got - expected).max() <= TOLERANCE[engine], engine
        windowed = _window(got, 40, 400)
        _assert_grey_close(np.abs(np.round(windowed) - _window(expected, 40, 400))[inside])
        _assert_grey_close(np.abs(server - np.round(windowed))[inside])


@pytest.mark.parametrize("projection, combine", [("mip", np.max), ("minip", np.min), ("mean", np.mean)])
def test_client_slabs_equal_numpy(browser: Any, orthanc: OrthancProcess, phantom,  # noqa: F811
                                  projection: str, combine) -> None:  # type: ignore[no-untyped-def]
    """A 9 mm coronal slab of the phantom by each engine: the maximum, minimum and mean of numpy's planes every
    output spacing across it, point by point (the slab lies inside the volume, so every plane counts)."""
    series, volume, values = phantom
    result = _client_reformat(browser, orthanc, series, "coronal", {"position": -20.0}, 9.0, projection)
    grid = mpr.plane_of(volume, "coronal", position=-20.0)
    steps = int(np.floor(9.0 / grid.spacing + 1e-9)) + 1
    offsets = np.linspace(-4.5, 4.5, steps)
    normal = np.array([0.0, 1.0, 0.0])
    planes = np.array([_expected(volume, values, grid.points() + offset * normal) for offset in offsets])
    assert steps >= 5 and not np.array_equal(planes[0], planes[-1])
    for engine, got in result.items():
        assert got.shape == planes.shape[1:], engine
        assert np.abs(got - combine(planes, axis=0)).max() <= TOLERANCE[engine], engine


def _derived(folder: Path, name: str) -> tuple[list[Path], Any, np.ndarray]:
    """A stack derived from the phantom, written to ``folder`` (its own UIDs), with its volume and values here.

    ``tilted``: every slice's orientation and position turned rigidly by 20 degrees about the patient's x axis
    (the pixels are the phantom's).  ``uneven``: every third slice left out, so the gaps alternate 3 and 6 mm.
    No real file here is such a stack, so they are derived, as the test says."""
    import pydicom
    from pydicom.pixels import apply_modality_lut
    from pydicom.uid import generate_uid

    from previewer.pixels.volume import Slice, volume_of
    paths = sorted(PHANTOM.glob("DCM_IMG_*.dcm"))
    if name == "uneven":
        paths = [p for i, p in enumerate(paths) if i % 3 != 1]
    angle = np.radians(20.0)
    turn = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    series, study, written, slices, values = generate_uid(), generate_uid(), [], [], {}
    for i, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        ds.SeriesInstanceUID, ds.StudyInstanceUID = series, study
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        if name == "tilted":
            orientation = np.array(ds.ImageOrientationPatient, dtype=float).reshape(2, 3)
            ds.ImageOrientationPatient = [round(float(v), 9) for v in (orientation @ turn.T).ravel()]
            ds.ImagePositionPatient = [round(float(v), 6) for v in turn @ np.array(ds.ImagePositionPatient, dtype=float)]
        out = folder / f"{name}-{i:03d}.dcm"
        ds.save_as(out, enforce_file_format=True)
        written.append(out)
        slices.append(Slice(key=out.name, position=tuple(float(v) for v in ds.ImagePositionPatient),
                            orientation=tuple(float(v) for v in ds.ImageOrientationPatient),  # type: ignore[arg-type]
                            spacing=(float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])), rows=int(ds.Rows),
                            columns=int(ds.Columns), frame_of_reference=str(ds.FrameOfReferenceUID)))
        values[out.name] = np.asarray(apply_modality_lut(ds.pixel_array, ds), dtype=np.float64)
    volume = volume_of(slices)
    return written, volume, np.array([values[one.key] for one in volume.slices])


def _trilinear(volume: Any, values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Independent trilinear in the stack's own voxel coordinates (numpy): columns and rows by projection on the
    row and column directions, the slice index by interpolating the slices' offsets; the lowest value outside."""
    flat = points.reshape(-1, 3) - np.array(volume.slices[0].position)
    u = flat @ np.array(volume.row) / volume.spacing[1]
    v = flat @ np.array(volume.column) / volume.spacing[0]
    offsets = np.array(volume.offsets) - volume.offsets[0]
    along = flat @ np.array(volume.normal)
    w = np.interp(along, offsets, np.arange(len(offsets)))
    depth, rows, columns = values.shape
    inside = (u >= -1e-6) & (u <= columns - 1 + 1e-6) & (v >= -1e-6) & (v <= rows - 1 + 1e-6) \
        & (along >= -1e-6) & (along <= offsets[-1] + 1e-6)
    out = np.full(flat.shape[0], values.min())
    u, v, w = np.clip(u, 0, columns - 1), np.clip(v, 0, rows - 1), np.clip(w, 0, depth - 1)
    i0, j0, k0 = (np.minimum(np.floor(x).astype(int), n - 2) for x, n in ((u, columns), (v, rows), (w, depth)))
    fu, fv, fw = u - i0, v - j0, w - k0
    total = np.zeros_like(u)
    for dk, wk in ((0, 1 - fw), (1, fw)):
        for dj, wj in ((0, 1 - fv), (1, fv)):
            for di, wi in ((0, 1 - fu), (1, fu)):
                total += values[k0 + dk, j0 + dj, i0 + di] * wk * wj * wi
    out[inside] = total[inside]
    return out.reshape(points.shape[:-1])


@pytest.mark.parametrize("name", ["tilted", "uneven"])
@pytest.mark.parametrize("plane, options", [
    ("coronal", {}),
    ("oblique", {"normal": [0.3, 0.4, 0.866], "up": [0, -1, 0]}),
])
def test_client_reformats_tilted_and_uneven_stacks(browser: Any, orthanc: OrthancProcess,  # noqa: F811
                                                   tmp_path: Path, name: str, plane: str, options: dict[str, Any]) -> None:
    """A tilted and an uneven-spacing stack derived from the phantom: the client's values equal numpy's."""
    paths, volume, values = _derived(tmp_path, name)
    series = [orthanc.upload(path) for path in paths][-1]["ParentSeries"]
    result = _client_reformat(browser, orthanc, series, plane, options)
    grid = mpr.plane_of(volume, plane, normal=tuple(options["normal"]), up=tuple(options["up"])) if options \
        else mpr.plane_of(volume, plane)
    expected = _trilinear(volume, values, grid.points())
    inside = expected != values.min()
    assert inside.sum() > 1000
    for engine, got in result.items():
        assert got.shape == (grid.height, grid.width), engine
        _assert_grey_close(np.abs(np.round(_window(got, 40, 400)) - _window(expected, 40, 400))[inside])


def test_client_reformats_an_enhanced_multiframe_volume(browser: Any, orthanc: OrthancProcess) -> None:  # noqa: F811
    """pydicom-data's eCT_Supplemental.dcm (2 frames with per-frame positions): the frames come by the volume's
    list, and each engine's coronal plane equals the server's PNG of it."""
    import data_store
    path = Path(data_store.__file__).resolve().parent / "data" / "eCT_Supplemental.dcm"
    series = orthanc.upload(path)["ParentSeries"]
    result = _client_reformat(browser, orthanc, series, "coronal", {})
    server = np.asarray(Image.open(io.BytesIO(_png(orthanc, series, "coronal", "window=40,400").content)), dtype=np.float64)
    for engine, values in result.items():
        got = np.round(_window(values, 40, 400))
        assert server.shape == got.shape and got.std() > 0, engine
        _assert_grey_close(np.abs(server - got))
