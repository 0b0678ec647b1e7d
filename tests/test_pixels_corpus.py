"""Every image of the three corpora renders, or fails as documented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pixels_corpus import image_files

from previewer.pixels.decode import frame_count
from previewer.pixels.reader import read_dataset
from previewer.pixels.errors import PixelError, Unsupported
from previewer.pixels.params import RenderParams
from previewer.pixels.render import default_window, display, modality_frame

#: Files that cannot render: corpus id -> (expected error, reason).
EXPECTED_FAILURES: dict[str, tuple[type[PixelError], str]] = {
    "pydicom/JPEG-lossy.dcm": (
        Unsupported,
        "12-bit JPEG with invalid SOS parameters (JPGExtended.dcm is its fixed copy)",
    ),
    "pydicom/JPEG2000-embedded-sequence-delimiter.dcm": (
        Unsupported,
        "codestream bytes deliberately overwritten with a Sequence Delimiter",
    ),
    "pydicom/MR_truncated.dcm": (Unsupported, "pixel data shorter than Rows x Columns"),
    "pydicom/badVR.dcm": (Unsupported, "(0028,0008) Number of Frames is '1A'"),
    "pydicom/meta_missing_tsyntax.dcm": (
        Unsupported,
        "pixel data without an Image Pixel module (no Rows/Columns)",
    ),
    "pydicom/nested_priv_SQ.dcm": (
        Unsupported,
        "pixel data without an Image Pixel module (no Rows/Columns)",
    ),
    "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm": (
        Unsupported,
        "file truncated inside the encapsulated pixel data",
    ),
}
#: Long cines are sampled at these frames (plus the middle and last).
SAMPLED_FRAMES = (0, 1)
#: Multi-frame objects with more frames than this are sampled.
MAX_FRAMES_ALL = 12

FILES = image_files()


def _frames(count: int) -> list[int]:
    if count <= MAX_FRAMES_ALL:
        return list(range(count))
    return sorted({*SAMPLED_FRAMES, count // 2, count - 1})


def _render_all(path: Path) -> int:
    ds = read_dataset(path.read_bytes())
    frames = _frames(frame_count(ds))
    for index in frames:
        frame = modality_frame(ds, index)
        out = display(frame, RenderParams())
        rows, cols = int(ds.Rows), int(ds.Columns)
        expected_shape = (rows, cols, 3) if frame.is_color else (rows, cols)
        assert out.format == ("rgb24" if frame.is_color else "gray8")
        assert out.array.shape == expected_shape
        assert out.array.dtype == np.uint8 and out.array.flags.c_contiguous
        values = (
            frame.array[np.isfinite(frame.array)]
            if frame.array.dtype.kind == "f"
            else frame.array
        )
        auto = not frame.is_color and not frame.windows and not frame.voi_luts
        if auto and values.size and values.min() != values.max():
            # The derived window never gives a blank image.
            assert default_window(frame) is not None
            assert len(np.unique(out.array)) > 1
    return len(frames)


@pytest.mark.parametrize(("name", "path"), FILES, ids=[name for name, _ in FILES])
def test_renders_or_fails_as_documented(name: str, path: Path) -> None:
    """Each corpus image renders at every (sampled) frame, or raises its listed error."""
    if name in EXPECTED_FAILURES:
        error, _reason = EXPECTED_FAILURES[name]
        with pytest.raises(error):
            _render_all(path)
    else:
        assert _render_all(path) >= 1


def test_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Every listed failure is in the corpus; the counts are printed."""
    names = {name for name, _ in FILES}
    assert set(EXPECTED_FAILURES) <= names
    total = len(FILES)
    failing = len(EXPECTED_FAILURES)
    with capsys.disabled():
        print(
            f"\ncorpus: rendered={total - failing} expected-failure={failing} total={total}"
        )
    assert total - failing > 150
