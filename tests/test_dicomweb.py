"""DICOMweb rendered resources, driven by a real DICOMweb client (dicomweb-client)."""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from PIL import Image

from conftest import CT_SMALL
from orthanc_process import OrthancProcess
from previewer.plugin.endpoints.dicomweb import crop, media_type, our_query, parse_viewport
from previewer.plugin.http import HttpError

EMRI = Path(pydicom.data.get_testdata_file("emri_small.dcm"))   # 10 frames


def _image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.fixture(scope="module")
def client(orthanc: OrthancProcess, ct_id: str) -> Iterator[DICOMwebClient]:
    """A dicomweb-client pointed at the previewer's DICOMweb root."""
    orthanc.upload(EMRI)
    yield DICOMwebClient(url=orthanc.url + "/previewer/dicom-web")


class TestWithDicomwebClient:
    def test_instance_rendered_equals_our_png(self, client: DICOMwebClient, orthanc: OrthancProcess,
                                              ct_id: str) -> None:
        """retrieve_instance_rendered with window and viewport equals our own PNG."""
        ds = pydicom.dcmread(CT_SMALL)
        data = client.retrieve_instance_rendered(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID,
                                                 media_types=("image/png",),
                                                 params={"window": "40,400,linear", "viewport": "64,64"})
        ours = orthanc.get(f"/previewer/instances/{ct_id}/frames/0/png",
                           params={"window": "40,400,linear", "width": "64", "height": "64"}).content
        assert np.array_equal(_image(data), _image(ours))
        assert _image(data).shape == (64, 64)

    def test_frames_rendered_equals_our_png(self, client: DICOMwebClient, orthanc: OrthancProcess) -> None:
        """retrieve_instance_frames_rendered of frame 4 equals our frame 3 (0-based)."""
        ds = pydicom.dcmread(EMRI, stop_before_pixels=True)
        instance_id = orthanc.get("/probe/lookup/instance", params={"value": ds.SOPInstanceUID}).json()["id"]
        data = client.retrieve_instance_frames_rendered(ds.StudyInstanceUID, ds.SeriesInstanceUID,
                                                        ds.SOPInstanceUID, frame_numbers=[4],
                                                        media_types=("image/png",),
                                                        params={"window": "600,1200,sigmoid"})
        ours = orthanc.get(f"/previewer/instances/{instance_id}/frames/3/png",
                           params={"window": "600,1200,sigmoid"}).content
        assert np.array_equal(_image(data), _image(ours))

    def test_jpeg_is_close_to_our_png(self, client: DICOMwebClient, orthanc: OrthancProcess, ct_id: str) -> None:
        """image/jpeg decodes within a mean of 3 grey levels of our PNG (tolerance for JPEG at quality 95)."""
        ds = pydicom.dcmread(CT_SMALL)
        data = client.retrieve_instance_rendered(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID,
                                                 media_types=("image/jpeg",), params={"quality": "95"})
        ours = _image(orthanc.get(f"/previewer/instances/{ct_id}/frames/0/png").content)
        assert data[:2] == b"\xff\xd8"
        assert np.abs(_image(data).astype(float) - ours).mean() < 3

    def test_series_rendered_is_the_middle_image(self, client: DICOMwebClient, orthanc: OrthancProcess) -> None:
        """retrieve_series_rendered answers the series' middle image (frame 5 of 10 here)."""
        ds = pydicom.dcmread(EMRI, stop_before_pixels=True)
        instance_id = orthanc.get("/probe/lookup/instance", params={"value": ds.SOPInstanceUID}).json()["id"]
        data = client.retrieve_series_rendered(ds.StudyInstanceUID, ds.SeriesInstanceUID,
                                               media_types=("image/png",), params={"viewport": "100,100"})
        ours = orthanc.get(f"/previewer/instances/{instance_id}/frames/5/png",
                           params={"width": "100", "height": "100"}).content
        assert np.array_equal(_image(data), _image(ours))

    def test_no_window_uses_the_files_voi(self, client: DICOMwebClient, orthanc: OrthancProcess, ct_id: str) -> None:
        """Without window, the file's own VOI applies (our default), not a min-max stretch."""
        ds = pydicom.dcmread(CT_SMALL)
        data = client.retrieve_instance_rendered(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID,
                                                 media_types=("image/png",))
        assert np.array_equal(_image(data), _image(orthanc.get(f"/previewer/instances/{ct_id}/png").content))


    def test_overlays_are_burned_in(self, client: DICOMwebClient, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """rendered (which has no overlay parameter) shows the overlay planes, as our default PNG does."""
        from objects_overlay import siemens_overlay
        path = tmp_path / "overlay.dcm"
        path.write_bytes(siemens_overlay())
        instance_id = orthanc.upload(path)["ID"]
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        data = client.retrieve_instance_rendered(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID,
                                                 media_types=("image/png",))
        ours = orthanc.get(f"/previewer/instances/{instance_id}/frames/0/png").content
        plain = orthanc.get(f"/previewer/instances/{instance_id}/frames/0/png?overlays=0").content
        assert np.array_equal(_image(data), _image(ours))
        assert not np.array_equal(_image(data), _image(plain))


class TestUrls:
    def test_thumbnails_at_three_levels(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """Study, series and instance /thumbnail answer a small PNG."""
        ds = pydicom.dcmread(CT_SMALL)
        base = f"/previewer/dicom-web/studies/{ds.StudyInstanceUID}"
        for path in (base, f"{base}/series/{ds.SeriesInstanceUID}",
                     f"{base}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"):
            answer = orthanc.get(path + "/thumbnail")
            assert answer.status_code == 200, path
            assert max(Image.open(io.BytesIO(answer.content)).size) <= 128

    def test_mismatched_uids_are_404(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """An instance under the wrong series or study gets 404; unknown UIDs too."""
        ds = pydicom.dcmread(CT_SMALL)
        emri = pydicom.dcmread(EMRI, stop_before_pixels=True)
        for study, series, sop in ((ds.StudyInstanceUID, emri.SeriesInstanceUID, ds.SOPInstanceUID),
                                   (emri.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID),
                                   (ds.StudyInstanceUID, ds.SeriesInstanceUID, "1.2.3.4")):
            answer = orthanc.get(f"/previewer/dicom-web/studies/{study}/series/{series}/instances/{sop}/rendered")
            assert answer.status_code == 404 and answer.json()["error"]

    def test_unacceptable_media_type_is_406(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """Accept: image/gif gets 406 naming the accepted types."""
        ds = pydicom.dcmread(CT_SMALL)
        answer = orthanc.get(f"/previewer/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
                             f"/instances/{ds.SOPInstanceUID}/rendered", headers={"Accept": "image/gif"})
        assert answer.status_code == 406 and answer.json()["accepted"] == ["image/png", "image/jpeg", "application/pdf", "text/html"]


class TestParameters:
    def test_window_needs_three_parts(self) -> None:
        """window=center,width,function is translated; two parts are refused."""
        assert our_query({"window": "40,400,linear-exact"}) == {"window": "40,400,linear_exact"}
        with pytest.raises(HttpError, match="window"):
            our_query({"window": "40,400"})

    def test_viewport_forms(self) -> None:
        """viewport takes 2 or 6 integers."""
        assert parse_viewport("10,20").region is None
        assert parse_viewport("10,20,1,2,-3,4").region == (1, 2, -3, 4)
        for bad in ("10", "a,b", "0,5", "1,2,3,4,0,1"):
            with pytest.raises(HttpError):
                parse_viewport(bad)

    def test_accept_header(self) -> None:
        """Accept picks PNG or JPEG; */* means PNG; others are 406."""
        assert media_type({}) == "image/png"
        assert media_type({"accept": "image/jpeg;q=0.9"}) == "image/jpeg"
        assert media_type({"accept": "*/*"}) == "image/png"
        with pytest.raises(HttpError) as error:
            media_type({"accept": "application/dicom"})
        assert error.value.status == 406


class TestCrop:
    """On a synthetic gradient, built for this test: no real image has known coordinates in every pixel."""

    GRADIENT = (np.arange(6)[:, None] * 10 + np.arange(8)[None, :]).astype(np.uint8)   # value = 10*row + column

    def test_region(self) -> None:
        """(sx, sy, sw, sh) picks columns sx..sx+sw and rows sy..sy+sh."""
        assert crop(self.GRADIENT, (2, 1, 3, 2)).tolist() == [[12, 13, 14], [22, 23, 24]]

    def test_negative_width_flips_horizontally(self) -> None:
        """A negative sw flips the region left to right."""
        assert crop(self.GRADIENT, (2, 1, -3, 1)).tolist() == [[14, 13, 12]]

    def test_negative_height_flips_vertically(self) -> None:
        """A negative sh flips the region top to bottom."""
        assert crop(self.GRADIENT, (0, 0, 1, -3)).tolist() == [[20], [10], [0]]

    def test_region_outside_is_400(self) -> None:
        """A region that starts outside the image is refused."""
        with pytest.raises(HttpError):
            crop(self.GRADIENT, (8, 0, 1, 1))

    def test_crop_and_flip_through_orthanc(self, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """viewport crop and flip through the plugin, on a synthetic gradient DICOM made for this test."""
        ds = pydicom.dcmread(CT_SMALL)
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.SeriesInstanceUID = pydicom.uid.generate_uid()
        gradient = (np.arange(128)[:, None] * 2 + np.arange(128)[None, :] * 0).astype(np.int16)   # rows 0..254
        gradient = gradient + (np.arange(128)[None, :] % 2).astype(np.int16)    # odd columns +1
        ds.PixelData = gradient.tobytes()
        ds.RescaleSlope, ds.RescaleIntercept = 1, 0
        ds.WindowCenter, ds.WindowWidth = 128, 256
        ds.BitsStored, ds.HighBit = 16, 15
        path = tmp_path / "gradient.dcm"
        ds.save_as(path)
        orthanc.upload(path)
        base = (f"/previewer/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
                f"/instances/{ds.SOPInstanceUID}/rendered")
        plain = _image(orthanc.get(base, params={"viewport": "4,4,10,20,4,4"}).content)
        flipped = _image(orthanc.get(base, params={"viewport": "4,4,10,20,-4,-4"}).content)
        full = _image(orthanc.get(base).content)
        assert np.array_equal(plain, full[20:24, 10:14])
        assert np.array_equal(flipped, full[20:24, 10:14][::-1, ::-1])
