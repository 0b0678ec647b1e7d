"""Makers of video test instances: a bitstream encoded by PyAV, wrapped by pydicom."""

from __future__ import annotations

import io

import av
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, generate_uid

FRAMES, ROWS, COLUMNS = 30, 120, 160
#: PS3.5 8.2.5 MPEG-2 MP@ML, 8.2.6 MPEG-4 AVC/H.264 High Profile.
SYNTAXES = {"mpeg2video": ("mpeg", "1.2.840.10008.1.2.4.100"), "libx264": ("h264", "1.2.840.10008.1.2.4.102")}


def level(index: int) -> int:
    """Grey level of frame ``index``."""
    return 20 + 7 * index


def make_video_dataset(codec: str = "mpeg2video") -> Dataset:
    """Video Photographic Image: 30 grey frames 160x120 (level 20+7k) encoded by PyAV with ``codec``."""
    fmt, syntax = SYNTAXES[codec]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = COLUMNS, ROWS, "yuv420p"
        for k in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.full((ROWS, COLUMNS, 3), level(k), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.4.1"
    ds.SOPInstanceUID = generate_uid()
    # The patient, study and series a modality writes (Orthanc requires them to store the file).
    ds.PatientID, ds.PatientName, ds.Modality = "VIDEO1", "Test^Video", "XC"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.NumberOfFrames = ROWS, COLUMNS, 3, FRAMES
    ds.PhotometricInterpretation, ds.BitsAllocated, ds.BitsStored, ds.HighBit = "YBR_PARTIAL_420", 8, 8, 7
    ds.PixelRepresentation, ds.PlanarConfiguration, ds.FrameTime = 0, 0, 40.0
    ds.PixelData = encapsulate([buf.getvalue()])
    return ds
