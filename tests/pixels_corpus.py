"""Locations of the DICOM test corpora used by the pixel tests."""

from __future__ import annotations

import functools
import io
import os
import warnings
from pathlib import Path

import pydicom
import pydicom.data
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from previewer.pixels.decode import PIXEL_KEYWORDS
from previewer.pixels.reader import read_dataset

#: pydicom's own test files (with sub-folders such as dicomdirtests/).
PYDICOM_DIR = Path(
    os.path.dirname(pydicom.data.get_testdata_file("CT_small.dcm") or "")
)
#: The pydicom-data package's files.
PYDICOM_DATA_DIR = Path(pydicom.__file__).parent.parent / "data_store" / "data"
#: Shared extra files (HTJ2K, float maps, JPEG-LS, non-byte-aligned 1-bit):
#: the project's shared/ folder beside the repository (as CI lays it out).
EXTRA_DIR = Path(
    os.environ.get(
        "PREVIEWER_EXTRA_DICOM",
        Path(__file__).resolve().parents[2] / "shared" / "dicom" / "extra",
    )
)

CORPORA: dict[str, Path] = {
    "pydicom": PYDICOM_DIR,
    "pydicom-data": PYDICOM_DATA_DIR,
    "extra": EXTRA_DIR,
}


def find(name: str) -> Path:
    """Path of a test file by name, searched in every corpus."""
    for root in CORPORA.values():
        direct = root / name
        if direct.is_file():
            return direct
    raise FileNotFoundError(name)


@functools.lru_cache(maxsize=256)
def load(name: str) -> Dataset:
    """A test file read with :func:`read_dataset` (cached: do not modify)."""
    return read_dataset(find(name).read_bytes())


def load_pydicom(name: str) -> Dataset:
    """A test file read with plain pydicom, for oracle comparisons."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(find(name), force=True)


def image_files() -> list[tuple[str, Path]]:
    """(id, path) of every corpus file that may be an image, sorted.

    A file counts when pydicom finds pixel data in it, or when our
    reader rejects it (e.g. a truncated pixel data element).
    """
    found: list[tuple[str, Path]] = []
    for label, root in CORPORA.items():
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.suffix in (
                ".json",
                ".txt",
                ".gz",
                ".icc",
                ".dump",
            ):
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ds = pydicom.dcmread(path, force=True, defer_size=64)
                is_image = any(k in ds for k in PIXEL_KEYWORDS)
                if not is_image:
                    read_dataset(path.read_bytes())
            except Exception:  # noqa: BLE001 - any unreadable .dcm counts as an image
                is_image = path.suffix == ".dcm"
            if is_image:
                found.append((f"{label}/{path.relative_to(root)}", path))
    return found


def grey_corpus() -> list[tuple[str, Path]]:
    """Corpus files whose frame 0 decodes to a grayscale frame: the images the viewer's client path shows."""
    from previewer.pixels import render
    from previewer.pixels.errors import PixelError
    found = []
    for name, path in image_files():
        try:
            frame = render.modality_frame(read_dataset(path.read_bytes()), 0)
        except PixelError:
            continue
        if not frame.is_color:
            found.append((name, path))
    return found


def fresh_copy(path: Path) -> bytes:
    """The file with new Study/Series/SOP Instance UIDs (so each test owns its instance)."""
    ds = pydicom.dcmread(path)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
