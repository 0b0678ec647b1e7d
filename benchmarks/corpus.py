"""The images the benchmarks use, and copies of them with new identifiers.

Everything comes from pydicom's and pydicom-data's files.  Two classes the
brief asks for do not exist there and are derived at run time (and labelled
so): a JPEG-LS lossless CT (``dcmcjpls`` on the 512x512 CT) and a 256x256 MR
(4x4 area mean of the 1024x1024 MR2_UNCI).
"""
from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
from pydicom.uid import generate_uid

ROOT = Path(__file__).resolve().parent.parent


def _data_store() -> Path:
    import data_store  # pydicom-data's package
    return Path(data_store.__file__).resolve().parent / "data"


def _test_file(name: str) -> Path:
    return Path(pydicom.data.get_testdata_file(name))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Image:
    key: str
    label: str
    path: Path
    frame: int = 0
    note: str = ""


def _jpeg_ls_ct(source: Path, folder: Path) -> Path | None:
    tool = shutil.which("dcmcjpls")
    if tool is None:
        return None
    out = folder / "CT_693_JLSL.dcm"
    subprocess.run([tool, str(source), str(out)], check=True, capture_output=True)
    return out


def _mr_256(source: Path, folder: Path) -> Path:
    ds = pydicom.dcmread(source)
    arr = ds.pixel_array.astype(np.float64)
    rows, cols = arr.shape
    small = arr.reshape(rows // 4, 4, cols // 4, 4).mean(axis=(1, 3))
    ds.PixelData = np.rint(small).astype(ds.pixel_array.dtype).tobytes()
    ds.Rows, ds.Columns = small.shape
    if "PixelSpacing" in ds:
        ds.PixelSpacing = [float(v) * 4 for v in ds.PixelSpacing]
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = folder / "MR_256_from_MR2_UNCI.dcm"
    ds.save_as(out, enforce_file_format=True)
    return out


def images(folder: Path | None = None) -> list[Image]:
    """The per-class images of the pixel-path benchmark (derived files go to ``folder``)."""
    folder = folder or Path(tempfile.mkdtemp(prefix="previewer-corpus-"))
    store = _data_store()
    ct = store / "693_UNCI.dcm"
    result = [
        Image("ct512", "CT 512x512", ct),
        Image("mr256", "MR 256x256 (derived)", _mr_256(store / "MR2_UNCI.dcm", folder),
              note="no 256x256 MR in pydicom/pydicom-data: MR2_UNCI 1024x1024, 4x4 area mean"),
        Image("cr", "CR 1955x1841", store / "RG1_UNCI.dcm"),
        Image("us_rgb", "US RGB 640x480", store / "US1_UNCR.dcm",
              note="US1_UNCR is single-frame RGB"),
        Image("us_multiframe", "US multi-frame JPEG YBR 640x480 (frame 60 of 120)",
              _test_file("color3d_jpeg_baseline.dcm"), frame=60,
              note="the multi-frame US: JPEG baseline YBR_FULL_422"),
        Image("ct_j2k", "CT 512x512 JPEG 2000 lossless", store / "693_J2KR.dcm"),
    ]
    jls = _jpeg_ls_ct(ct, folder)
    if jls is not None:
        result.append(Image("ct_jls", "CT 512x512 JPEG-LS lossless (derived)", jls,
                            note="no JPEG-LS CT in pydicom/pydicom-data: 693_UNCI through dcmcjpls"))
    result += [
        Image("enhanced_mr", "Enhanced MR 64x64 (frame 5 of 10)", _test_file("emri_small.dcm"), frame=5,
              note="the only enhanced MR available (emri_small)"),
        Image("enhanced_ct", "Enhanced CT 512x512 (frame 1 of 2)", _test_file("eCT_Supplemental.dcm"), frame=1),
    ]
    return result


def ct_path() -> Path:
    return _data_store() / "693_UNCI.dcm"


def cr_path() -> Path:
    return _data_store() / "RG1_UNCI.dcm"


def copies(path: Path, n: int) -> list[bytes]:
    """``n`` copies of a DICOM file, each with its own Study/Series/SOP Instance UID."""
    ds = pydicom.dcmread(path)
    out = []
    for _ in range(n):
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        out.append(buffer.getvalue())
    return out
