"""Makers of video test instances: a bitstream encoded by PyAV, wrapped by pydicom."""

from __future__ import annotations

import io

import av
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, HEVCMP51, MPEG2MPML, MPEG4HP41, generate_uid

FRAMES, ROWS, COLUMNS = 30, 120, 160
#: Encoder: (muxer, transfer syntax, encoder options).  PS3.5 8.2.5 MPEG-2 MP@ML (program stream),
#: 8.2.6 MPEG-4 AVC/H.264 High Profile / Level 4.1 (elementary stream), 8.2.7 HEVC/H.265 Main
#: Profile / Level 5.1 (elementary stream; x265's own log to stderr is turned off).
SYNTAXES: dict[str, tuple[str, UID, dict[str, str]]] = {
    "mpeg2video": ("mpeg", MPEG2MPML, {}),
    "libx264": ("h264", MPEG4HP41, {}),
    "libx265": ("hevc", HEVCMP51, {"x265-params": "log-level=none"}),
}


def level(index: int) -> int:
    """Grey level of frame ``index``."""
    return 20 + 7 * index


def encode(codec: str = "mpeg2video") -> bytes:
    """The bitstream: 30 grey frames 160x120 (level 20+7k), yuv420p at 25 frames/s, encoded by PyAV's ``codec``.

    PyAV 18's FFmpeg encoders: mpeg2video for MPEG-2, libx264 for H.264 and
    libx265 for HEVC (8-bit 4:2:0, hence Main profile), each with its defaults.
    """
    fmt, _, options = SYNTAXES[codec]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=25, options=options)
        stream.width, stream.height, stream.pix_fmt = COLUMNS, ROWS, "yuv420p"
        for k in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.full((ROWS, COLUMNS, 3), level(k), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def make_video_dataset(codec: str = "mpeg2video", bitstream: bytes | None = None) -> Dataset:
    """Video Photographic Image holding :func:`encode`'s bitstream of ``codec`` (or ``bitstream``), wrapped by pydicom."""
    syntax = SYNTAXES[codec][1]
    data = encode(codec) if bitstream is None else bitstream
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.4.1"
    ds.SOPInstanceUID = generate_uid()
    # The patient, study and series a modality writes (Orthanc requires them to store the file).
    ds.PatientID, ds.PatientName, ds.Modality = "VIDEO1", "Test^Video", "XC"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.NumberOfFrames = ROWS, COLUMNS, 3, FRAMES
    ds.PhotometricInterpretation, ds.BitsAllocated, ds.BitsStored, ds.HighBit = "YBR_PARTIAL_420", 8, 8, 7
    ds.PixelRepresentation, ds.PlanarConfiguration, ds.FrameTime = 0, 0, 40.0
    ds.PixelData = encapsulate([data])  # pydicom pads an odd fragment
    return ds
