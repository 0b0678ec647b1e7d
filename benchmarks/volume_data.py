"""A 512x512x300 CT volume for the MPR benchmarks, derived from a real series.

No real file here holds a 512x512x300 CT series.  This one is **derived** from the Radiomics Digital
Phantom's patient 1 (PyPI's ``pycerr``, ``make testdata``: 60 real axial CT slices of 204x201 at
0.977 mm, 3 mm apart): its modality values are resampled by trilinear interpolation (numpy) to
512x512 in-plane and 300 slices over the same extent.  Each slice is its own instance with its own
values, position and Slice Location; the other attributes are the first slice's.  The pixels are
real anatomy of the phantom, so a reformat shows structure, not copies of one slice.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.uid import generate_uid

ROOT = Path(__file__).resolve().parent.parent
PHANTOM = ROOT / "build" / "testdata" / "radiomics_phantom_dicom" / "pat_1"


def _resample(values: NDArray[np.float64], axis: int, count: int) -> NDArray[np.float64]:
    """``values`` linearly resampled along ``axis`` to ``count`` samples over the same extent (end points kept)."""
    length = values.shape[axis]
    where = np.linspace(0, length - 1, count)
    low = np.minimum(np.floor(where).astype(int), length - 2)
    weight = where - low
    shape = [1, 1, 1]
    shape[axis] = count
    weight = weight.reshape(shape)
    return np.asarray(np.take(values, low, axis=axis) * (1 - weight) + np.take(values, low + 1, axis=axis) * weight,
                      dtype=np.float64)


def phantom_volume(size: int = 512, slices: int = 300) -> list[bytes]:
    """The derived series as DICOM files (Part 10 bytes), in slice order."""
    paths = sorted(PHANTOM.glob("DCM_IMG_*.dcm"))
    if not paths:
        raise FileNotFoundError(f"{PHANTOM}: run `make testdata`")
    datasets = sorted((pydicom.dcmread(path) for path in paths), key=lambda ds: float(ds.ImagePositionPatient[2]))
    first = datasets[0]
    slope, intercept = float(first.get("RescaleSlope", 1)), float(first.get("RescaleIntercept", 0))
    stack = np.stack([ds.pixel_array.astype(np.float64) * float(ds.get("RescaleSlope", 1))
                      + float(ds.get("RescaleIntercept", 0)) for ds in datasets])
    for axis, count in ((0, slices), (1, size), (2, size)):
        stack = _resample(stack, axis, count)
    rows, columns = int(first.Rows), int(first.Columns)
    spacing = (float(first.PixelSpacing[0]) * (rows - 1) / (size - 1),
               float(first.PixelSpacing[1]) * (columns - 1) / (size - 1))
    z0 = float(first.ImagePositionPatient[2])
    z1 = float(datasets[-1].ImagePositionPatient[2])
    step = (z1 - z0) / (slices - 1)
    stored = np.clip(np.round((stack - intercept) / slope), 0, 65535).astype(np.uint16)
    study, series = generate_uid(), generate_uid()
    out = []
    for index in range(slices):
        ds = pydicom.dcmread(paths[0])
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = index + 1
        ds.Rows = ds.Columns = size
        ds.PixelSpacing = [round(spacing[0], 6), round(spacing[1], 6)]
        x, y = (float(v) for v in first.ImagePositionPatient[:2])
        ds.ImagePositionPatient = [x, y, round(z0 + index * step, 4)]
        ds.SliceLocation = round(z0 + index * step, 4)
        ds.SliceThickness = round(step, 4)
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = stored[index].tobytes()
        for keyword in ("SmallestImagePixelValue", "LargestImagePixelValue"):
            if keyword in ds:
                delattr(ds, keyword)
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        out.append(buffer.getvalue())
    return out
