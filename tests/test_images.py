"""The PNG and info endpoints, with a store that is not Orthanc."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from conftest import CT_SMALL, RGB_FILE
from previewer.plugin.endpoints import images
from previewer.plugin.store import Store, UnknownInstance, modality_frame, warm
from previewer.plugin.cache import LruCache
from previewer.plugin.http import HttpError, Request, Response

CT_ID = "11111111-22222222-33333333-44444444-55555555"
RGB_ID = "aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-eeeeeeee"
BAD_ID = "99999999-88888888-77777777-66666666-55555555"
#: pydicom's JPEG-lossy.dcm: no installed decoder can decode it (415).
JPEG_LOSSY = Path(get_testdata_file("JPEG-lossy.dcm"))


class FakeStore:
    """Files by ID, counting reads; ``deleted`` IDs no longer exist."""

    def __init__(self) -> None:
        self.files = {CT_ID: CT_SMALL.read_bytes(), RGB_ID: Path(RGB_FILE).read_bytes()}
        self.reads = 0
        self.deleted: set[str] = set()
        self.versions = {CT_ID: "v1", RGB_ID: "v1"}

    def dicom(self, instance_id: str) -> bytes:
        self.reads += 1
        if instance_id not in self.files or instance_id in self.deleted:
            raise UnknownInstance(instance_id)
        return self.files[instance_id]

    def version(self, instance_id: str) -> str | None:
        if instance_id not in self.files or instance_id in self.deleted:
            return None
        return self.versions[instance_id]


@pytest.fixture
def fake() -> FakeStore:
    return FakeStore()


@pytest.fixture
def store(fake: FakeStore) -> Store:
    return Store(dicom=fake.dicom, version=fake.version, cache=LruCache(64 * 2**20))


def _request(instance_id: str, frame: int = 0, query: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> Request:
    return Request("GET", "/", {"id": instance_id, "frame": frame}, query or {}, headers or {})


class TestFramePng:
    def test_decodes_once_for_many_windows(self, store: Store, fake: FakeStore) -> None:
        """A new window on a cached frame reads no file again."""
        for window in ("40,400", "-600,1500", "300,2000"):
            response = images.frame_png(store, _request(CT_ID, query={"window": window}))
            assert response.pixels is not None and response.pixel_format == "gray8"
        assert fake.reads == 1

    def test_windows_change_the_pixels(self, store: Store) -> None:
        """Two windows give two different images."""
        a = images.frame_png(store, _request(CT_ID, query={"window": "40,400"})).pixels
        b = images.frame_png(store, _request(CT_ID, query={"window": "1000,100"})).pixels
        assert not np.array_equal(a, b)

    def test_deleted_instance_is_404_even_when_cached(self, store: Store, fake: FakeStore) -> None:
        """After deletion, a cached frame is never served."""
        images.frame_png(store, _request(CT_ID))
        fake.deleted.add(CT_ID)
        with pytest.raises(HttpError) as error:
            images.frame_png(store, _request(CT_ID, query={"window": "1,2"}))
        assert error.value.status == 404
        assert len(store.cache) == 0

    def test_etag_gives_304(self, store: Store) -> None:
        """A repeat request with If-None-Match gets 304 and the same ETag."""
        first = images.frame_png(store, _request(CT_ID))
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"].startswith("private")
        again = images.frame_png(store, _request(CT_ID, headers={"if-none-match": etag}))
        assert again.status == 304 and again.headers["ETag"] == etag

    def test_etag_differs_per_parameter(self, store: Store) -> None:
        """Every rendering parameter is part of the ETag."""
        tags = {images.frame_png(store, _request(CT_ID, query=query)).headers["ETag"]
                for query in ({}, {"window": "1,2"}, {"invert": "1"}, {"size": "64"}, {"format": "gray16"},
                              {"encoder": "fast"})}
        assert len(tags) == 6

    def test_etag_of_deleted_instance_is_404(self, store: Store, fake: FakeStore) -> None:
        """If-None-Match on a deleted instance gets 404, not 304."""
        etag = images.frame_png(store, _request(CT_ID)).headers["ETag"]
        fake.deleted.add(CT_ID)
        with pytest.raises(HttpError) as error:
            images.frame_png(store, _request(CT_ID, headers={"if-none-match": etag}))
        assert error.value.status == 404

    def test_replaced_file_is_decoded_again_with_a_new_etag(self, store: Store, fake: FakeStore) -> None:
        """When the stored file changes (OverwriteInstances), nothing cached is reused."""
        first = images.frame_png(store, _request(CT_ID))
        fake.versions[CT_ID] = "v2"
        again = images.frame_png(store, _request(CT_ID, headers={"if-none-match": first.headers["ETag"]}))
        assert again.status == 200 and again.headers["ETag"] != first.headers["ETag"]
        assert fake.reads == 2

    def test_fast_encoder_gives_the_same_pixels(self, store: Store) -> None:
        """encoder=fast answers a PNG whose pixels equal the rendered array."""
        default = images.frame_png(store, _request(RGB_ID))
        fast = images.frame_png(store, _request(RGB_ID, query={"encoder": "fast"}))
        assert fast.media_type == "image/png" and fast.pixels is None
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(fast.body))), default.pixels)

    def test_accept_jpeg(self, store: Store) -> None:
        """Accept: image/jpeg answers through the JPEG call with the quality asked."""
        response = images.frame_png(store, _request(CT_ID, query={"quality": "70"},
                                                   headers={"accept": "image/jpeg"}))
        assert response.media_type == "image/jpeg" and response.jpeg_quality == 70
        default = images.frame_png(store, _request(CT_ID, headers={"accept": "image/jpeg"}))
        assert default.jpeg_quality == 90

    def test_browser_accept_stays_png(self, store: Store) -> None:
        """A browser's image Accept header keeps PNG."""
        response = images.frame_png(store, _request(CT_ID, headers={
            "accept": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"}))
        assert response.jpeg_quality == 0

    @pytest.mark.parametrize("query, name", [
        ({"colour": "red"}, "colour"),
        ({"encoder": "zopfli"}, "encoder"),
        ({"quality": "0"}, "quality"),
        ({"quality": "x"}, "quality"),
        ({"format": "cmyk"}, "format"),
    ])
    def test_bad_parameters_are_400(self, store: Store, query: dict[str, str], name: str) -> None:
        """A bad parameter gets 400 naming it."""
        with pytest.raises(Exception) as error:
            images.frame_png(store, _request(CT_ID, query=query))
        assert getattr(error.value, "status", None) == 400
        assert name in str(error.value)

    def test_malformed_id_is_404_without_a_read(self, store: Store, fake: FakeStore) -> None:
        """An ID that is not an Orthanc ID gets 404 without asking the store."""
        with pytest.raises(HttpError) as error:
            images.frame_png(store, _request("x" * 5000))
        assert error.value.status == 404 and fake.reads == 0

    def test_thumbnail_warm_up_fills_the_cache(self, store: Store, fake: FakeStore) -> None:
        """warm() decodes once; the thumbnail request then reads nothing."""
        from previewer.pixels.params import parse_params
        warm(store, CT_ID, parse_params({"size": "64"}))
        reads = fake.reads
        response = images.frame_png(store, _request(CT_ID, query={"size": "64"}))
        assert fake.reads == reads and response.pixels.shape == (64, 64)


    def test_downscaled_frame_is_cached_per_size(self, store: Store) -> None:
        """A sized request keeps the fitted frame; a new window at that size reuses it."""
        first = images.frame_png(store, _request(CT_ID, query={"size": "64", "window": "40,400"}))
        entries = len(store.cache)
        second = images.frame_png(store, _request(CT_ID, query={"size": "64", "window": "80,800"}))
        assert first.pixels.shape == second.pixels.shape == (64, 64)
        assert len(store.cache) == entries + 1      # only the new small render
        assert store.cache.get((CT_ID, "v1", "frame", 0, 64, 64)) is not None

    def test_downscaled_equals_windowing_the_averaged_values(self, store: Store) -> None:
        """The sized image is the window applied to the area-averaged modality values."""
        from previewer.pixels.params import parse_params
        from previewer.pixels.render import display
        from previewer.pixels.resize import area_resize
        full = modality_frame(store, CT_ID, "v1", 0)
        small = images.frame_png(store, _request(CT_ID, query={"size": "32", "window": "40,400"})).pixels
        import dataclasses
        expected = display(dataclasses.replace(full, array=area_resize(full.array, 32, 32)),
                           parse_params({"window": "40,400"})).array
        assert np.array_equal(small, expected)


    def test_parallel_cold_requests_decode_once(self, fake: FakeStore) -> None:
        """Eight parallel first requests for one frame read its file once, two decodes at most at a time."""
        import threading
        from concurrent.futures import ThreadPoolExecutor
        active, peak, lock = [0], [0], threading.Lock()

        def dicom(instance_id: str) -> bytes:
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            try:
                return fake.dicom(instance_id)
            finally:
                with lock:
                    active[0] -= 1
        store = Store(dicom=dicom, version=fake.version, cache=LruCache(64 * 2**20))
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: images.frame_png(store, _request(CT_ID, query={"window": f"{n},400"})), range(8)))
        assert fake.reads == 1 and peak[0] <= 2


class TestInstanceInfo:
    def test_info_names_size_and_window(self, store: Store) -> None:
        """/info answers rows, columns and the window used."""
        response: Response = images.instance_info(store, _request(CT_ID))
        info = json.loads(response.body)
        assert (info["rows"], info["columns"], info["frames"]) == (128, 128, 1)
        assert info["id"] == CT_ID

    def test_info_shares_the_decoded_frame_with_renders(self, store: Store, fake: FakeStore) -> None:
        """/info after a render decodes nothing, and /info's frame serves the next render."""
        images.frame_png(store, _request(CT_ID))
        misses = store.cache.stats.misses
        first = json.loads(images.instance_info(store, _request(CT_ID)).body)
        assert store.cache.stats.misses == misses and first["decodable"]
        images.instance_info(store, _request(RGB_ID))
        reads = fake.reads
        images.frame_png(store, _request(RGB_ID))
        assert fake.reads == reads

    def test_info_of_a_deleted_instance_is_404(self, store: Store, fake: FakeStore) -> None:
        """/info checks that the instance still exists before reading it."""
        fake.deleted.add(CT_ID)
        with pytest.raises(HttpError) as error:
            images.instance_info(store, _request(CT_ID))
        assert error.value.status == 404


class TestUndecodableFrames:
    def test_a_failed_decode_is_remembered(self, fake: FakeStore, store: Store) -> None:
        """A 415 frame is decoded once; later requests get the same 415 without reading the file."""
        fake.files[BAD_ID], fake.versions[BAD_ID] = JPEG_LOSSY.read_bytes(), "v1"
        errors = []
        for _ in range(3):
            with pytest.raises(HttpError) as error:
                images.frame_png(store, _request(BAD_ID))
            errors.append((error.value.status, error.value.message))
        assert errors[0][0] == 415 and errors.count(errors[0]) == 3
        assert fake.reads == 1

    def test_a_new_version_is_decoded_again(self, fake: FakeStore, store: Store) -> None:
        """A replaced file (another version) is not answered from the remembered failure."""
        fake.files[BAD_ID], fake.versions[BAD_ID] = JPEG_LOSSY.read_bytes(), "v1"
        with pytest.raises(HttpError):
            images.frame_png(store, _request(BAD_ID))
        fake.files[BAD_ID], fake.versions[BAD_ID] = CT_SMALL.read_bytes(), "v2"
        assert images.frame_png(store, _request(BAD_ID)).pixels is not None

    def test_info_of_an_unreadable_file_is_415(self, fake: FakeStore, store: Store) -> None:
        """/info on a file pydicom cannot parse answers a 415 naming it, not a 500."""
        fake.files[BAD_ID], fake.versions[BAD_ID] = b"\x00" * 128 + b"DICM" + b"\xff" * 64, "v1"
        with pytest.raises(HttpError) as error:
            images.instance_info(store, _request(BAD_ID))
        assert error.value.status == 415
