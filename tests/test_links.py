"""Deep links: /previewer/open resolves DICOM identifiers and redirects to the viewer."""
from __future__ import annotations

import json
from typing import Any

import pydicom
import pytest

from conftest import CT_SMALL
from orthanc_process import OrthancProcess, orthanc_version, redirect_status
from previewer.plugin.endpoints.links import Resolver, errors_shown_as_text, open_link
from previewer.plugin.http import HttpError, Request
from previewer.plugin.store import UnknownResource


class FakeOrthanc:
    """Two studies of one patient; series S1 holds instances I1 (1 frame) and I2 (3 frames)."""

    resources: dict[str, Any] = {
        "/instances/I2": {"ParentSeries": "S1"},
        "/patients/P1": {"Studies": ["T1", "T2"]},
        "/patients/P2": {"Studies": ["T3"]},
        "/series/S1/instances?expand": [
            {"ID": "I2", "IndexInSeries": 2, "MainDicomTags": {"InstanceNumber": "2", "NumberOfFrames": "3"}},
            {"ID": "I1", "IndexInSeries": 1, "MainDicomTags": {"InstanceNumber": "1"}},
        ],
    }

    def __init__(self, accession_matches: int = 1, version: str = "1.10.1") -> None:
        self.accession_matches = accession_matches
        self.resources = {**self.resources, "/system": {"Version": version}}

    def resolver(self) -> Resolver:
        ids = {"SOPInstanceUID": {"1.2.9": "I2"}, "SeriesInstanceUID": {"1.2.5": "S1"},
               "StudyInstanceUID": {"1.2.1": "T1"}, "AccessionNumber": {"A7": "T1"},
               "PatientID": {"PAT1": "P1", "PAT2": "P2"}}
        return Resolver(lookup={key: table.get for key, table in ids.items()},
                        rest_get=self.get, rest_post=self.post)

    def get(self, uri: str) -> bytes:
        if uri not in self.resources:
            raise UnknownResource(uri)
        return json.dumps(self.resources[uri]).encode()

    def post(self, uri: str, body: bytes) -> bytes:
        assert uri == "/tools/find"
        return json.dumps([f"T{n}" for n in range(1, self.accession_matches + 1)]).encode()


def _open(query: dict[str, str], fake: FakeOrthanc | None = None) -> Any:
    return open_link((fake or FakeOrthanc()).resolver(), Request("GET", "/previewer/open", {}, query, {}))


class TestOpenLink:
    def test_study(self) -> None:
        """A StudyInstanceUID opens the study page."""
        assert _open({"StudyInstanceUID": "1.2.1"}).location == "./#/study/T1"

    def test_series_with_window(self) -> None:
        """A SeriesInstanceUID opens the series, with the window kept."""
        assert _open({"SeriesInstanceUID": "1.2.5", "window": "40,400"}).location == "./#/series/S1?window=40,400"

    def test_instance_and_frame_give_the_image_index(self) -> None:
        """A SOPInstanceUID and frame open that image: I1 is image 1, I2's frame 2 is image 4."""
        assert _open({"SOPInstanceUID": "1.2.9", "frame": "2"}).location == "./#/series/S1?image=4"

    def test_frame_out_of_range_is_404(self) -> None:
        """A frame the instance does not have gets 404."""
        with pytest.raises(HttpError) as error:
            _open({"SOPInstanceUID": "1.2.9", "frame": "3"})
        assert error.value.status == 404

    def test_patient_with_several_studies_shows_the_list(self) -> None:
        """A patient with two studies opens the study list filtered by the ID; one study opens it."""
        assert _open({"PatientID": "PAT1"}).location == "./#/?q=PAT1"
        assert _open({"PatientID": "PAT2"}).location == "./#/study/T3"

    def test_accession_with_several_studies_shows_the_list(self) -> None:
        """An accession matching two studies opens the filtered list; one match opens the study."""
        assert _open({"AccessionNumber": "A7"}, FakeOrthanc(2)).location == "./#/?q=A7"
        assert _open({"AccessionNumber": "A7"}).location == "./#/study/T1"

    def test_unknown_value_gets_a_friendly_404_page(self) -> None:
        """An unknown accession gets an HTML 404 naming it, escaped."""
        response = _open({"AccessionNumber": "<b>X</b>"})
        assert response.status == 404 and response.media_type.startswith("text/html")
        assert b"&lt;b&gt;X&lt;/b&gt;" in response.body and b"<b>X" not in response.body

    def test_unknown_value_is_plain_text_on_orthanc_1_12_2(self) -> None:
        """On Orthanc 1.12.2+ the 404 is plain UTF-8 text naming the value, unescaped."""
        response = _open({"PatientID": "<b>Zoë</b>"}, FakeOrthanc(version="1.12.7"))
        assert response.status == 404 and response.media_type == "text/plain; charset=utf-8"
        text = response.body.decode("utf-8")
        assert text.startswith("\ufeffNothing found") and "No PatientID '<b>Zoë</b>' is stored" in text

    @pytest.mark.parametrize(("version", "plain"), [("1.10.1", False), ("1.12.1", False), ("1.12.2", True),
                                                     ("1.12.7", True), ("1.13.0", True), ("mainline", True)])
    def test_error_bodies_as_text_since_1_12_2(self, version: str, plain: bool) -> None:
        """Orthanc 1.12.2 and later (and development builds) send error bodies as text/plain."""
        assert errors_shown_as_text(version) is plain

    @pytest.mark.parametrize("query", [{}, {"StudyUID": "1"}, {"StudyInstanceUID": "1.2.1", "window": "a,b"},
                                       {"SOPInstanceUID": "1.2.9", "frame": "-1"}])
    def test_bad_queries_are_400(self, query: dict[str, str]) -> None:
        """No identifier, an unknown parameter or a bad option gets 400."""
        with pytest.raises(HttpError) as error:
            _open(query)
        assert error.value.status == 400


class TestThroughOrthanc:
    def test_each_lookup_kind_redirects(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """The lookup kinds answer a redirect (301, or 307 since Orthanc 1.12.4) with a viewer Location."""
        ds = pydicom.dcmread(CT_SMALL)
        cases = {"StudyInstanceUID": ds.StudyInstanceUID, "SeriesInstanceUID": ds.SeriesInstanceUID,
                 "SOPInstanceUID": ds.SOPInstanceUID, "PatientID": ds.PatientID}
        for key, value in cases.items():
            answer = orthanc.get("/previewer/open", params={key: value}, allow_redirects=False)
            assert answer.status_code == redirect_status(), key
            assert answer.headers["Location"].startswith("./#/"), key
        missing = orthanc.get("/previewer/open", params={"AccessionNumber": "NO-SUCH-ACC"})
        assert missing.status_code == 404 and "NO-SUCH-ACC" in missing.text
        plain = errors_shown_as_text(".".join(str(number) for number in orthanc_version()))
        assert missing.raw.headers.getlist("Content-Type")[0].startswith("text/plain" if plain else "text/html")
