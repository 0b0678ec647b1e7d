"""The PNG, info and other instance routes (previewer/plugin/endpoints/images.py), through a real Orthanc."""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from conftest import CT_SMALL, MR_SMALL, RGB_FILE
from orthanc_process import OrthancProcess, error_content_types
from pixels_corpus import fresh_copy
from previewer.pixels import render
from previewer.pixels.params import parse_params
from previewer.pixels.reader import read_dataset


def _png(orthanc: OrthancProcess, path: str) -> Image.Image:
    answer = orthanc.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(answer.content))


class TestFramePng:
    @pytest.mark.parametrize("query", [
        {"window": "40,400"}, {"window": "-600,1500", "invert": "1"}, {"window": "300,60", "format": "gray16"},
        {"window": "40,400", "format": "rgb24"}, {"window": "40,400", "format": "rgba32"}, {"window": "40,400,sigmoid"},
        {"window": "40.5,1,linear"}, {"window": "-100,2.5,linear_exact", "format": "gray16", "invert": "1"},
    ], ids=lambda q: ",".join(f"{k}={v}" for k, v in q.items()))
    def test_the_native_lookup_equals_numpy(self, orthanc: OrthancProcess, ct_id: str,
                                            query: dict[str, str]) -> None:
        """Inside Orthanc the window table is made and looked up in C (native/gather.c): the same pixels as numpy's."""
        expected = render.display(render.modality_frame(read_dataset(CT_SMALL.read_bytes()), 0),
                                  parse_params(query)).array
        answer = orthanc.get(f"/previewer/instances/{ct_id}/frames/0/png", params=query)
        assert answer.status_code == 200, answer.text
        got = np.asarray(Image.open(io.BytesIO(answer.content)))
        assert got.shape == expected.shape and np.array_equal(got.astype(expected.dtype), expected)

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
        """An unknown instance gets 404 with a JSON body naming it (Orthanc 1.12.2+ adds a text/plain type)."""
        answer = orthanc.get("/previewer/instances/no-such-instance/frames/0/png")
        assert answer.status_code == 404
        assert answer.raw.headers.getlist("Content-Type") == error_content_types("application/json")
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


class TestCaching:
    def test_if_none_match_gets_304(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """A repeat request with the ETag gets 304 with the ETag."""
        first = orthanc.get(f"/previewer/instances/{ct_id}/png", params={"window": "40,400"})
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "private, no-cache"
        again = orthanc.get(f"/previewer/instances/{ct_id}/png", params={"window": "40,400"},
                            headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["ETag"] == etag

    def test_deleted_instance_is_404_after_caching(self, orthanc: OrthancProcess) -> None:
        """After DELETE, the routes answer 404 although the frame was cached."""
        instance_id = orthanc.upload(MR_SMALL)["ID"]
        first = orthanc.get(f"/previewer/instances/{instance_id}/png")
        assert first.status_code == 200
        assert orthanc.http.delete(orthanc.url + f"/instances/{instance_id}").status_code == 200
        for query in ({}, {"window": "100,200"}):
            assert orthanc.get(f"/previewer/instances/{instance_id}/png", params=query).status_code == 404
        cached = orthanc.get(f"/previewer/instances/{instance_id}/png",
                             headers={"If-None-Match": first.headers["ETag"]})
        assert cached.status_code == 404

    def test_deleted_instance_leaves_the_cache(self, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """Orthanc's deletion reaches the cache through the event queue: the instance's entries go."""
        def settled() -> int:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                stats = orthanc.get("/previewer/stats").json()
                warm = stats["warmup"] or {"queued": 0, "done": 0, "failed": 0}
                if warm["queued"] == warm["done"] + warm["failed"]:
                    return int(stats["cache"]["entries"])
                time.sleep(0.1)
            raise AssertionError("the warm-up did not settle")

        (tmp_path / "copy.dcm").write_bytes(fresh_copy(RGB_FILE))   # other tests keep the original
        before = settled()
        instance_id = orthanc.upload(tmp_path / "copy.dcm")["ID"]
        assert orthanc.get(f"/previewer/instances/{instance_id}/png?size=32").status_code == 200
        assert settled() > before
        assert orthanc.http.delete(orthanc.url + f"/instances/{instance_id}").status_code == 200
        deadline = time.monotonic() + 10
        while settled() != before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert settled() == before

    def test_new_window_hits_the_frame_cache(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """A new window on a decoded frame is a cache hit."""
        orthanc.get(f"/previewer/instances/{ct_id}/png")
        before = orthanc.get("/previewer/stats").json()["cache"]["hits"]
        assert orthanc.get(f"/previewer/instances/{ct_id}/png", params={"window": "7,77"}).status_code == 200
        assert orthanc.get("/previewer/stats").json()["cache"]["hits"] > before

    def test_warm_up_on_ingest(self, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """A new instance is decoded in the background after it is stored."""
        source = tmp_path / "ct.dcm"
        ds = pydicom.dcmread(CT_SMALL)
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.save_as(source)
        before = orthanc.get("/previewer/stats").json()["warmup"]["done"]
        orthanc.upload(source)
        deadline = time.monotonic() + 20
        while orthanc.get("/previewer/stats").json()["warmup"]["done"] <= before:
            assert time.monotonic() < deadline, "the warm-up worker did not run"
            time.sleep(0.1)


class TestEncoders:
    def test_fast_encoder_matches_orthancs(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """encoder=fast and Orthanc's libpng give the same pixels."""
        default = _png(orthanc, f"/previewer/instances/{ct_id}/png")
        fast = _png(orthanc, f"/previewer/instances/{ct_id}/png?encoder=fast")
        assert np.array_equal(np.asarray(default), np.asarray(fast))

    def test_accept_jpeg(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """Accept: image/jpeg answers a JPEG of the same size, close to the PNG."""
        answer = orthanc.get(f"/previewer/instances/{ct_id}/png", params={"quality": "95"},
                             headers={"Accept": "image/jpeg"})
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/jpeg"
        jpeg = np.asarray(Image.open(io.BytesIO(answer.content)), dtype=float)
        reference = np.asarray(_png(orthanc, f"/previewer/instances/{ct_id}/png"), dtype=float)
        assert jpeg.shape == reference.shape
        assert np.abs(jpeg - reference).mean() < 3

    def test_signed16_round_trip(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """Reading the signed16 PNG back as int16 gives CT_small's modality values."""
        image = _png(orthanc, f"/previewer/instances/{ct_id}/png?format=signed16")
        values = np.asarray(image).astype(np.uint16).view(np.int16)
        ds = pydicom.dcmread(CT_SMALL)
        expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        assert np.array_equal(values, expected.astype(np.int16))


class TestOverlays:
    """Overlay planes (PS3.3 C.9.2, C.9.3) through a real Orthanc: the files of tests/objects_overlay.py
    (pydicom-data's real Siemens MR with an overlay, and overlay planes added by pydicom to emri_small)."""

    @staticmethod
    def _upload(orthanc: OrthancProcess, tmp_path: Path, maker: str) -> tuple[str, bytes]:
        import objects_overlay
        data = getattr(objects_overlay, maker)()
        path = tmp_path / f"{maker}.dcm"
        path.write_bytes(data)
        return orthanc.upload(path)["ID"], data

    def test_siemens_overlay_is_burned_in_white(self, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """The default PNG is the overlays=0 PNG with pydicom's overlay_array pixels set to 255."""
        instance, data = self._upload(orthanc, tmp_path, "siemens_overlay")
        bits = pydicom.dcmread(io.BytesIO(data)).overlay_array(0x6000).astype(bool)
        shown = np.asarray(_png(orthanc, f"/previewer/instances/{instance}/frames/0/png"))
        plain = np.asarray(_png(orthanc, f"/previewer/instances/{instance}/frames/0/png?overlays=0"))
        assert bits.any() and shown.shape == plain.shape == bits.shape
        assert (shown[bits] == 255).all()
        assert np.array_equal(shown[~bits], plain[~bits])
        assert not np.array_equal(shown, plain)

    def test_overlay_colour_gives_rgb24(self, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """overlay=red burns pure red into an RGB PNG; elsewhere the grey image is replicated."""
        instance, data = self._upload(orthanc, tmp_path, "siemens_overlay")
        bits = pydicom.dcmread(io.BytesIO(data)).overlay_array(0x6000).astype(bool)
        red = _png(orthanc, f"/previewer/instances/{instance}/frames/0/png?overlay=red")
        plain = np.asarray(_png(orthanc, f"/previewer/instances/{instance}/frames/0/png?overlays=0"))
        assert red.mode == "RGB"
        pixels = np.asarray(red)
        assert (pixels[bits] == (255, 0, 0)).all()
        assert all(np.array_equal(pixels[..., c][~bits], plain[~bits]) for c in range(3))

    def test_multiframe_overlay_follows_its_frames(self, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """Group 6000 covers image frames 4-6 only: frame 0 differs from its overlays=0 PNG by the 6002 cross alone."""
        import objects_overlay
        instance, _ = self._upload(orthanc, tmp_path, "multiframe_overlay")
        def diff(n: int) -> int:
            shown = np.asarray(_png(orthanc, f"/previewer/instances/{instance}/frames/{n}/png"))
            plain = np.asarray(_png(orthanc, f"/previewer/instances/{instance}/frames/{n}/png?overlays=0"))
            return int((shown != plain).sum())
        first = objects_overlay.FRAME_ORIGIN - 1
        assert diff(first) > diff(0) > 0        # the pattern adds to the cross on its frames
        assert diff(first + objects_overlay.OVERLAY_FRAMES) == diff(0)

    def test_info_lists_overlays(self, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """/info names each overlay group with its size, frames and type."""
        instance, _ = self._upload(orthanc, tmp_path, "multiframe_overlay")
        overlays = orthanc.get(f"/previewer/instances/{instance}/info").json()["overlays"]
        assert [(o["group"], o["rows"], o["columns"], o["frames"], o["type"]) for o in overlays] == [
            ("6000", 30, 30, 3, "G"), ("6002", 64, 64, 1, "R")]

    def test_bad_overlay_parameters_are_400(self, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """overlays=2 and overlay=mauve are 400s whose JSON names the parameter."""
        instance, _ = self._upload(orthanc, tmp_path, "siemens_overlay")
        for query, name in (("overlays=2", "overlays"), ("overlay=mauve", "overlay")):
            answer = orthanc.get(f"/previewer/instances/{instance}/frames/0/png?{query}")
            assert answer.status_code == 400 and f"'{name}'" in answer.json()["error"], answer.text
