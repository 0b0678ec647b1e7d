"""The previewer's first routes, through a real Orthanc."""
from __future__ import annotations

import io

import numpy as np
import pydicom
from PIL import Image

from conftest import CT_SMALL, RGB_FILE
from orthanc_process import OrthancProcess


def _png(orthanc: OrthancProcess, path: str) -> Image.Image:
    answer = orthanc.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(answer.content))


class TestFramePng:
    def test_ct_small_is_rows_by_columns_gray8(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """CT_small renders as an 8-bit grayscale PNG of Rows x Columns."""
        ds = pydicom.dcmread(CT_SMALL)
        image = _png(orthanc, f"/previewer/instances/{ct_id}/frames/0/png")
        assert image.mode == "L"
        assert image.size == (ds.Columns, ds.Rows)
        assert np.asarray(image).std() > 10, "the image should not be flat"

    def test_rgb_file_is_rgb24(self, orthanc: OrthancProcess, rgb_id: str) -> None:
        """A colour file renders as RGB24 with its own pixel values."""
        ds = pydicom.dcmread(RGB_FILE)
        image = _png(orthanc, f"/previewer/instances/{rgb_id}/frames/0/png")
        assert image.mode == "RGB"
        assert image.size == (ds.Columns, ds.Rows)
        assert np.array_equal(np.asarray(image), ds.pixel_array)

    def test_short_route_is_frame_zero(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """/instances/{id}/png answers the same bytes as frame 0."""
        short = orthanc.get(f"/previewer/instances/{ct_id}/png")
        full = orthanc.get(f"/previewer/instances/{ct_id}/frames/0/png")
        assert short.status_code == 200 and short.content == full.content

    def test_head_never_reaches_plugins(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """Orthanc 1.10 answers HEAD through WebDAV (404), for its own routes as for ours."""
        ours = orthanc.http.head(orthanc.url + f"/previewer/instances/{ct_id}/png", timeout=30)
        core = orthanc.http.head(orthanc.url + "/system", timeout=30)
        assert ours.status_code == core.status_code == 404
        assert "No WebDAV bucket is registered against URI: HEAD /previewer/" in orthanc.log()


class TestErrors:
    def test_unknown_instance_is_404_json(self, orthanc: OrthancProcess) -> None:
        """An unknown instance gets 404 with a JSON body naming it."""
        answer = orthanc.get("/previewer/instances/no-such-instance/frames/0/png")
        assert answer.status_code == 404
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["instance"] == "no-such-instance"
        assert "unknown instance" in answer.json()["error"]

    def test_frame_out_of_range_is_404_json(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """A frame past the last gets 404 with a JSON body naming the frame."""
        answer = orthanc.get(f"/previewer/instances/{ct_id}/frames/1/png")
        assert answer.status_code == 404
        assert answer.json()["frame"] == 1

    def test_post_is_405_with_allow(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """POST on a GET route gets 405 with the allowed methods."""
        for method in ("POST", "PUT", "DELETE"):
            answer = orthanc.http.request(method, orthanc.url + f"/previewer/instances/{ct_id}/png", timeout=30)
            assert answer.status_code == 405, method
            assert answer.headers["Allow"] == "GET"

    def test_unknown_parameter_is_400(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """An unknown query parameter gets 400 naming it."""
        answer = orthanc.get(f"/previewer/instances/{ct_id}/png", params={"colour": "blue"})
        assert answer.status_code == 400
        assert "colour" in answer.json()["error"]

    def test_orthanc_still_serves(self, orthanc: OrthancProcess) -> None:
        """After the error cases, Orthanc is still up."""
        assert orthanc.get("/system").status_code == 200
