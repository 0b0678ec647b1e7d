"""Every SDK wrapper that returns Orthanc-owned memory, called in a loop.

/probe/loop (tests/plugin_probe.py) calls one wrapper N times inside
Orthanc.  After a warm-up loop (which lets Python, glibc and SQLite reach
their steady state), a second loop of N calls may not grow Orthanc's RSS by
more than TOLERANCE_KB.  The smallest buffer any of these calls returns is a
~40-byte string, which glibc rounds up to a 48-byte chunk (64 with its
header): leaking it 10,000 times would add >= 480 KiB, so a 256 KiB
tolerance catches a leak of even the smallest string while allowing for
page-granular noise.  Double frees crash glibc at once ("free(): double free
detected"), so a process still up after the loop has none.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
import pytest

from conftest import CT_SMALL, MR_SMALL
from orthanc_process import OrthancProcess

N = int(os.environ.get("PREVIEWER_MEMORY_LOOPS", "10000"))
TOLERANCE_KB = 256 * N // 10000


@pytest.fixture(scope="module")
def loop_orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    process = OrthancProcess(tmp_path_factory.mktemp("memory"), previewer={"WarmOnIngest": False})
    process.start()
    yield process
    process.stop()


def _kinds(process: OrthancProcess) -> list[tuple[str, str]]:
    instance = str(process.upload(CT_SMALL)["ID"])
    ds = pydicom.dcmread(CT_SMALL, stop_before_pixels=True)
    return [
        ("patient", ds.PatientID), ("study", ds.StudyInstanceUID), ("series", ds.SeriesInstanceUID),
        ("instance", ds.SOPInstanceUID), ("accession", "no-such-accession"),
        ("rest_get", "/system"), ("rest_get", f"/instances/{instance}/tags"), ("rest_get_error", ""),
        ("rest_post", ds.SOPInstanceUID), ("rest_put", ""), ("dicom_for_instance", instance),
        ("borrowed_dicom", instance), ("instance_file_uuid", instance), ("configuration_path", ""),
        ("orthanc_path", ""), ("orthanc_directory", ""), ("error_description", ""),
    ]


def _loop(process: OrthancProcess, kind: str, arg: str, n: int) -> None:
    answer = process.http.get(f"{process.url}/probe/loop", params={"kind": kind, "arg": arg, "n": n},
                              timeout=600)
    assert answer.status_code == 200, answer.text


def test_sdk_wrappers_do_not_leak(loop_orthanc: OrthancProcess) -> None:
    growth: dict[str, int] = {}
    for kind, arg in _kinds(loop_orthanc):
        _loop(loop_orthanc, kind, arg, max(1000, N // 5))
        before = loop_orthanc.rss_kb()
        _loop(loop_orthanc, kind, arg, N)
        growth[f"{kind}({arg[:30]})"] = loop_orthanc.rss_kb() - before
    leaking = {k: v for k, v in growth.items() if v > TOLERANCE_KB}
    assert not leaking, f"RSS growth in KiB over {N} calls: {growth}"
    assert loop_orthanc.get("/system").status_code == 200


def test_stored_instance_getters_do_not_leak(loop_orthanc: OrthancProcess) -> None:
    """DicomInstance.json / simplified_json / data / metadata, N times in the stored callback."""
    per_upload = max(1, N // 4)
    assert loop_orthanc.get(f"/probe/faults?stored_loop={per_upload}").status_code == 200
    try:
        loop_orthanc.upload(MR_SMALL)  # warm-up
        before = loop_orthanc.rss_kb()
        for path in (CT_SMALL, MR_SMALL):  # already stored: Orthanc re-runs nothing
            loop_orthanc.upload(path)
        for seed in range(4):
            ds = pydicom.dcmread(MR_SMALL)
            ds.SOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=["memory", str(seed)])
            path = loop_orthanc.folder / f"copy{seed}.dcm"
            ds.save_as(path)
            loop_orthanc.upload(path)
        grown = loop_orthanc.rss_kb() - before
    finally:
        done = loop_orthanc.get("/probe/faults?stored_loop=0").json()["stored_loops_done"]
    assert done >= 5 * per_upload
    # 4 new instances are stored (index rows, logs): allow 1 MiB on top of the loop tolerance.
    assert grown < TOLERANCE_KB + 1024, f"RSS grew by {grown} KiB over {4 * per_upload} getter rounds"


def test_repeated_requests_for_an_undecodable_frame_keep_the_heap_flat(loop_orthanc: OrthancProcess) -> None:
    """2,000 requests (and /info) for pydicom's JPEG-lossy.dcm (a 415) leave glibc's in-use heap flat.

    pylibjpeg-libjpeg 2.5 leaks about 6.5 KB on each failing decode of this
    file (measured in-process with mallinfo2); the soak found it as a steady
    heap creep.  The previewer remembers the failure, so it decodes it once.
    """
    instance = str(loop_orthanc.upload(Path(get_testdata_file("JPEG-lossy.dcm")))["ID"])
    path = f"/previewer/instances/{instance}/png"
    first = loop_orthanc.get(path)
    assert first.status_code == 415 and "error" in first.json()
    before = loop_orthanc.get("/probe/memory").json()["in_use_bytes"]
    for n in range(2000):
        answer = loop_orthanc.get(path if n % 10 else f"/previewer/instances/{instance}/info")
        assert answer.status_code == (415 if n % 10 else 200), answer.text
    grown = loop_orthanc.get("/probe/memory").json()["in_use_bytes"] - before
    # Decoding each time would leak 2,000 x 6.5 KB = 13 MB.
    assert grown < 1024 * 1024, f"in-use heap grew by {grown / 1024:.0f} KiB over 2,000 requests"
