"""The viewer's JSON API, with an Orthanc REST API that is not Orthanc."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from previewer.plugin.endpoints import api
from previewer.plugin.http import HttpError, Request
from previewer.plugin.store import UnknownResource

PATIENT_A = "a0000000-00000000-00000000-00000000-00000001"
PATIENT_B = "a0000000-00000000-00000000-00000000-00000002"
STUDY_CT = "b0000000-00000000-00000000-00000000-00000001"
STUDY_MR = "b0000000-00000000-00000000-00000000-00000002"
STUDY_OLD = "b0000000-00000000-00000000-00000000-00000003"
SERIES_AXIAL = "c0000000-00000000-00000000-00000000-00000001"
SERIES_SCOUT = "c0000000-00000000-00000000-00000000-00000002"
SERIES_MR = "c0000000-00000000-00000000-00000000-00000003"
SERIES_OLD = "c0000000-00000000-00000000-00000000-00000004"
UNKNOWN = "ffffffff-ffffffff-ffffffff-ffffffff-ffffffff"
AXIAL = "1,0,0\\0,1,0"   # row and column direction cosines: normal +z
FRAME_OF_REFERENCE = "1.2.826.0.1.99.7"


def _instance_id(series: int, number: int) -> str:
    return f"d0000000-00000000-00000000-{series:08d}-{number:08d}"


def _uid(instance_id: str) -> str:
    """A SOP Instance UID for a fake instance: its series and number digits after a root."""
    series, number = instance_id.rsplit("-", 2)[1:]
    return f"1.2.826.0.1.{int(series)}{number}"


def _instance(instance_id: str, series_id: str, number: int | None, position: str | None = None,
              orientation: str | None = AXIAL, frames: int | None = None, index: int = 0) -> dict[str, Any]:
    tags: dict[str, str] = {"SOPInstanceUID": _uid(instance_id)}
    if number is not None:
        tags["InstanceNumber"] = str(number)
    if position is not None:
        tags["ImagePositionPatient"] = position
    if orientation is not None and position is not None:
        tags["ImageOrientationPatient"] = orientation.replace(",", "\\")
    if frames is not None:
        tags["NumberOfFrames"] = str(frames)
    return {"ID": instance_id, "ParentSeries": series_id, "IndexInSeries": index, "MainDicomTags": tags,
            "Type": "Instance"}


class FakeOrthanc:
    """Orthanc's REST API over a small fixed database: two patients, three studies.

    Patient A has a CT study (an axial series whose Instance Numbers grow
    from head to feet, i.e. against +z, and a one-image scout) and an older
    MR study; patient B has an MR study with one multi-frame instance.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.studies = [
            self._study(STUDY_CT, PATIENT_A, "DOE^JANE", "PID-1", "20240305", "CHEST CT", "ACC1", [SERIES_AXIAL, SERIES_SCOUT]),
            self._study(STUDY_OLD, PATIENT_A, "DOE^JANE", "PID-1", "20190102", "HEAD MR", "", [SERIES_OLD]),
            self._study(STUDY_MR, PATIENT_B, "ROE^RICHARD", "PID-2", "20230615", "KNEE", "ACC2", [SERIES_MR]),
        ]
        self.series = [
            self._series(SERIES_AXIAL, STUDY_CT, "CT", "2", "Axial 5mm"),
            self._series(SERIES_SCOUT, STUDY_CT, "CT", "1", "Scout"),
            self._series(SERIES_OLD, STUDY_OLD, "MR", "3", "T2 axial"),
            self._series(SERIES_MR, STUDY_MR, "MR", "7", "Cine"),
        ]
        # Arrival order scrambled; Instance Numbers 1..4 run from z=0 down to z=-15.
        self.instances = [
            _instance(_instance_id(1, 3), SERIES_AXIAL, 3, "0\\0\\-10", index=1),
            _instance(_instance_id(1, 1), SERIES_AXIAL, 1, "0\\0\\0", index=2),
            _instance(_instance_id(1, 4), SERIES_AXIAL, 4, "0\\0\\-15", index=3),
            _instance(_instance_id(1, 2), SERIES_AXIAL, 2, "0\\0\\-5", index=4),
            _instance(_instance_id(2, 1), SERIES_SCOUT, 1, "0\\-200\\0", "1,0,0\\0,0,-1"),
            _instance(_instance_id(3, 1), SERIES_OLD, 1),
            _instance(_instance_id(4, 1), SERIES_MR, 1, frames=10),
        ]
        for study in self.studies:
            study["Series"] = [s["ID"] for s in self.series if s["ParentStudy"] == study["ID"]]
        for series in self.series:
            series["Instances"] = [i["ID"] for i in self.instances if i["ParentSeries"] == series["ID"]]
        self.tags: dict[str, Any] = {
            "0010,0010": {"Name": "PatientName", "Type": "String", "Value": "<b>DOE</b>^JANE"},
            "0008,1140": {"Name": "ReferencedImageSequence", "Type": "Sequence", "Value": [
                {"0008,1150": {"Name": "ReferencedSOPClassUID", "Type": "String", "Value": "1.2.3"}},
                {"0008,1155": {"Name": "ReferencedSOPInstanceUID", "Type": "String", "Value": "1.2.4"}},
            ]},
            "0043,1028": {"Name": "Unknown", "PrivateCreator": "GEMS", "Type": "Null", "Value": None},
            "0018,9999": {"Name": "Big", "Type": "TooLong", "Value": None},
            "7fe0,0010": {"Name": "PixelData", "Type": "Null", "Value": None},
        }

    @staticmethod
    def _study(study_id: str, patient: str, name: str, patient_id: str, date: str, description: str,
               accession: str, series: list[str]) -> dict[str, Any]:
        return {"ID": study_id, "ParentPatient": patient, "Type": "Study",
                "MainDicomTags": {"StudyDate": date, "StudyTime": "101500", "StudyDescription": description,
                                  "AccessionNumber": accession, "StudyID": "S" + date[-2:]},
                "PatientMainDicomTags": {"PatientName": name, "PatientID": patient_id,
                                         "PatientBirthDate": "19700101", "PatientSex": "F"},
                "Series": series}

    @staticmethod
    def _series(series_id: str, study_id: str, modality: str, number: str, description: str) -> dict[str, Any]:
        return {"ID": series_id, "ParentStudy": study_id, "Type": "Series",
                "MainDicomTags": {"Modality": modality, "SeriesNumber": number, "SeriesDescription": description,
                                  "SeriesDate": "20240305", "SeriesTime": "101500"}}

    def _one(self, items: list[dict[str, Any]], resource_id: str, uri: str) -> dict[str, Any]:
        for item in items:
            if item["ID"] == resource_id:
                return item
        raise UnknownResource(uri)

    def _answer(self, uri: str) -> Any:
        if uri == "/studies?expand":
            return self.studies
        if uri == "/series?expand":
            return self.series
        patient = re.fullmatch(r"/patients/([^/?]+)/(studies|series)\?expand", uri)
        if patient:
            studies = [s for s in self.studies if s["ParentPatient"] == patient.group(1)]
            if not studies:
                raise UnknownResource(uri)
            if patient.group(2) == "studies":
                return studies
            return [s for s in self.series if any(s["ParentStudy"] == st["ID"] for st in studies)]
        content = re.fullmatch(r"/instances/([^/?]+)/content/0020-0052", uri)
        if content:
            instance = self._one(self.instances, content.group(1), uri)
            if "ImagePositionPatient" not in instance["MainDicomTags"]:
                raise UnknownResource(uri)   # Orthanc: 404 for an absent element
            return FRAME_OF_REFERENCE + "\x00"   # padded to an even length, as in the file
        found = re.fullmatch(r"/(studies|series|instances)/([^/?]+)(/[a-z]+)?(\?expand)?", uri)
        if found is None:
            raise AssertionError(f"unexpected Orthanc URI {uri}")
        level, resource_id, child, _ = found.groups()
        if level == "studies":
            study = self._one(self.studies, resource_id, uri)
            if child == "/series":
                return [s for s in self.series if s["ParentStudy"] == resource_id]
            if child == "/instances":
                series_ids = set(study["Series"])
                return [i for i in self.instances if i["ParentSeries"] in series_ids]
            return study
        if level == "series":
            series = self._one(self.series, resource_id, uri)
            if child == "/instances":
                return [i for i in self.instances if i["ParentSeries"] == resource_id]
            return series
        self._one(self.instances, resource_id, uri)
        assert child == "/tags"
        return self.tags

    def rest_get(self, uri: str) -> bytes:
        self.calls.append(uri)
        answer = self._answer(uri)
        return answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()


@pytest.fixture
def orthanc() -> FakeOrthanc:
    return FakeOrthanc()


def _get(endpoint: Any, orthanc: FakeOrthanc, query: dict[str, str] | None = None, **params: str) -> Any:
    response = endpoint(orthanc.rest_get, Request("GET", "/", params, query or {}, {}))
    assert response.status == 200
    assert response.media_type == "application/json"
    return json.loads(response.body)


class TestStudies:
    def test_lists_studies_grouped_by_patient(self, orthanc: FakeOrthanc) -> None:
        """Patients by name, each one's studies newest first, with modalities and counts."""
        answer = _get(api.studies, orthanc)
        assert (answer["total"], answer["matched"], answer["truncated"]) == (3, 3, False)
        assert [s["id"] for s in answer["studies"]] == [STUDY_CT, STUDY_OLD, STUDY_MR]
        ct = answer["studies"][0]
        assert ct["patient"] == {"id": PATIENT_A, "name": "DOE^JANE", "patient_id": "PID-1",
                                 "birth_date": "19700101", "sex": "F"}
        assert (ct["date"], ct["description"], ct["accession"]) == ("20240305", "CHEST CT", "ACC1")
        assert (ct["modalities"], ct["series"], ct["instances"]) == (["CT"], 2, 5)

    def test_nameless_patients_come_last(self, orthanc: FakeOrthanc) -> None:
        """A study without a PatientName is listed after the named ones."""
        orthanc.studies[0]["PatientMainDicomTags"]["PatientName"] = ""
        assert [s["id"] for s in _get(api.studies, orthanc)["studies"]] == [STUDY_OLD, STUDY_MR, STUDY_CT]

    def test_two_calls_to_orthanc(self, orthanc: FakeOrthanc) -> None:
        """The list costs two REST calls, whatever the number of studies."""
        _get(api.studies, orthanc)
        assert sorted(orthanc.calls) == ["/series?expand", "/studies?expand"]

    @pytest.mark.parametrize(("query", "expected"), [
        ("doe", [STUDY_CT, STUDY_OLD]),
        ("jane doe", [STUDY_CT, STUDY_OLD]),
        ("PID-2", [STUDY_MR]),
        ("20240305", [STUDY_CT]),
        ("2023-06", [STUDY_MR]),
        ("ct", [STUDY_CT]),
        ("mr doe", [STUDY_OLD]),
        ("knee", [STUDY_MR]),
        ("cine", [STUDY_MR]),
        ("acc1", [STUDY_CT]),
        ("nothing-like-this", []),
        ("   ", [STUDY_CT, STUDY_OLD, STUDY_MR]),
    ])
    def test_search(self, orthanc: FakeOrthanc, query: str, expected: list[str]) -> None:
        """Every word must match a name, ID, date, modality, description or accession number."""
        answer = _get(api.studies, orthanc, {"q": query})
        assert [s["id"] for s in answer["studies"]] == expected
        assert answer["total"] == 3

    def test_legacy_date_is_found_and_sorted_by_the_calendar(self, orthanc: FakeOrthanc) -> None:
        """A legacy YYYY.MM.DD StudyDate (as in pydicom's ExplVR_BigEnd.dcm) is found in every form and sorts as its date."""
        orthanc.studies[1]["MainDicomTags"]["StudyDate"] = "2019.12.31"
        assert [s["id"] for s in _get(api.studies, orthanc, {"q": "doe"})["studies"]] == [STUDY_CT, STUDY_OLD]
        for query in ("2019-12-31", "20191231", "2019.12.31"):
            assert [s["id"] for s in _get(api.studies, orthanc, {"q": query})["studies"]] == [STUDY_OLD], query
        orthanc.studies[0]["MainDicomTags"]["StudyDate"] = "20190601"   # raw strings sort "2019.12.31" below it
        assert [s["id"] for s in _get(api.studies, orthanc, {"q": "doe"})["studies"]] == [STUDY_OLD, STUDY_CT]
        assert [o["id"] for o in _get(api.study, orthanc, id=STUDY_CT)["others"]] == [STUDY_OLD]

    def test_limit(self, orthanc: FakeOrthanc) -> None:
        """limit cuts the list and says so."""
        answer = _get(api.studies, orthanc, {"limit": "2"})
        assert len(answer["studies"]) == 2 and answer["truncated"] and answer["matched"] == 3

    @pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "x"}, {"limit": "100000"}, {"sort": "date"}])
    def test_bad_parameters_are_400(self, orthanc: FakeOrthanc, query: dict[str, str]) -> None:
        """An invalid limit or an unknown parameter is a 400 naming it."""
        with pytest.raises(HttpError) as error:
            api.studies(orthanc.rest_get, Request("GET", "/", {}, query, {}))
        assert error.value.status == 400
        assert next(iter(query)) in error.value.message


class TestStudy:
    def test_series_in_number_order_with_thumbnails(self, orthanc: FakeOrthanc) -> None:
        """Series sort by number; each names its middle image as thumbnail."""
        answer = _get(api.study, orthanc, id=STUDY_CT)
        assert answer["id"] == STUDY_CT and answer["patient"]["name"] == "DOE^JANE"
        assert answer["thumbnail_size"] == api.DEFAULT_THUMBNAIL_SIZE
        scout, axial = answer["series"]
        assert (scout["id"], scout["number"], scout["instances"], scout["frames"]) == (SERIES_SCOUT, 1, 1, 1)
        assert scout["thumbnail"] == {"instance": _instance_id(2, 1), "frame": 0}
        assert (axial["id"], axial["modality"], axial["description"]) == (SERIES_AXIAL, "CT", "Axial 5mm")
        assert axial["thumbnail"] == {"instance": _instance_id(1, 3), "frame": 0}

    def test_multiframe_thumbnail_is_middle_frame(self, orthanc: FakeOrthanc) -> None:
        """A 10-frame instance is shown by its frame 5."""
        series = _get(api.study, orthanc, id=STUDY_MR)["series"][0]
        assert (series["instances"], series["frames"]) == (1, 10)
        assert series["thumbnail"] == {"instance": _instance_id(4, 1), "frame": 5}

    def test_series_kind_from_modality(self, orthanc: FakeOrthanc) -> None:
        """Series of presentation states, segmentations, reports and PDFs are named by kind; others are images."""
        orthanc.series[0]["MainDicomTags"]["Modality"] = "PR"
        kinds = {s["id"]: s["kind"] for s in _get(api.study, orthanc, id=orthanc.series[0]["ParentStudy"])["series"]}
        assert kinds[orthanc.series[0]["ID"]] == "presentation"
        assert "image" in kinds.values() or len(kinds) == 1

    def test_five_calls_to_orthanc(self, orthanc: FakeOrthanc) -> None:
        """A study costs five REST calls, whatever the number of series and of the patient's other studies."""
        _get(api.study, orthanc, id=STUDY_CT)
        assert len(orthanc.calls) == 5

    def test_the_patients_other_studies_newest_first(self, orthanc: FakeOrthanc) -> None:
        """``others`` lists the patient's other studies with date, modalities and description; another patient's never."""
        others = _get(api.study, orthanc, id=STUDY_CT)["others"]
        assert [(o["id"], o["date"], o["modalities"], o["description"], o["series"]) for o in others] == [
            (STUDY_OLD, "20190102", ["MR"], "HEAD MR", 1)]
        orthanc.studies[1]["MainDicomTags"]["StudyDate"] = "20250101"   # now the newer one
        assert [o["id"] for o in _get(api.study, orthanc, id=STUDY_OLD)["others"]] == [STUDY_CT]
        assert _get(api.study, orthanc, id=STUDY_MR)["others"] == []

    def test_unknown_is_404(self, orthanc: FakeOrthanc) -> None:
        """An unknown study is a 404 naming it."""
        with pytest.raises(HttpError) as error:
            _get(api.study, orthanc, id=UNKNOWN)
        assert (error.value.status, error.value.details) == (404, {"study": UNKNOWN})

    @pytest.mark.parametrize("bad", ["..", "x", "B0000000-00000000-00000000-00000000-00000001",
                                     STUDY_CT + "?expand", STUDY_CT + "/series"])
    def test_malformed_id_never_reaches_orthanc(self, orthanc: FakeOrthanc, bad: str) -> None:
        """An ID that is not an Orthanc ID is a 404 without any REST call."""
        with pytest.raises(HttpError) as error:
            api.study(orthanc.rest_get, Request("GET", "/", {"id": bad}, {}, {}))
        assert error.value.status == 404
        assert orthanc.calls == []


class TestSeries:
    def test_instances_in_viewing_order(self, orthanc: FakeOrthanc) -> None:
        """The series with its study, patient and instances in viewing order."""
        answer = _get(api.series, orthanc, id=SERIES_AXIAL)
        assert (answer["id"], answer["modality"], answer["number"], answer["order"]) == (SERIES_AXIAL, "CT", 2, "position")
        assert answer["study"]["id"] == STUDY_CT and answer["study"]["description"] == "CHEST CT"
        assert answer["patient"]["patient_id"] == "PID-1"
        assert [i["id"] for i in answer["instances"]] == [_instance_id(1, n) for n in (1, 2, 3, 4)]
        assert answer["instances"][0] == {"id": _instance_id(1, 1), "uid": _uid(_instance_id(1, 1)), "number": 1, "frames": 1,
                                          "position": [0.0, 0.0, 0.0], "orientation": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                                          "location": 0.0}
        assert answer["frames"] == 4
        assert answer["frame_of_reference"] == FRAME_OF_REFERENCE

    def test_no_position_no_frame_of_reference(self, orthanc: FakeOrthanc) -> None:
        """A series without Image Position (Patient) has no frame of reference to scroll by, and Orthanc is not asked."""
        answer = _get(api.series, orthanc, id=SERIES_MR)
        assert answer["frame_of_reference"] is None
        assert not any("/content/" in call for call in orthanc.calls)

    def test_multiframe(self, orthanc: FakeOrthanc) -> None:
        """A multi-frame instance counts its frames."""
        answer = _get(api.series, orthanc, id=SERIES_MR)
        assert answer["frames"] == 10 and answer["instances"][0]["frames"] == 10

    def test_unknown_is_404(self, orthanc: FakeOrthanc) -> None:
        """An unknown series is a 404 naming it."""
        with pytest.raises(HttpError) as error:
            _get(api.series, orthanc, id=UNKNOWN)
        assert (error.value.status, error.value.details) == (404, {"series": UNKNOWN})


class TestInstanceTags:
    def test_rows(self, orthanc: FakeOrthanc) -> None:
        """Tags become sorted rows; sequences are followed by their items, one level deeper."""
        rows = _get(api.instance_tags, orthanc, id=_instance_id(1, 1))["tags"]
        assert rows[0] == {"tag": "0008,1140", "name": "ReferencedImageSequence", "value": "sequence of 2 items", "depth": 0}
        assert rows[1] == {"tag": "", "name": "item 1", "value": "", "depth": 1}
        assert rows[2] == {"tag": "0008,1150", "name": "ReferencedSOPClassUID", "value": "1.2.3", "depth": 2}
        by_tag = {row["tag"]: row for row in rows}
        assert by_tag["0010,0010"]["value"] == "<b>DOE</b>^JANE"   # as stored: the viewer shows it as text
        assert by_tag["0018,9999"]["value"] == "(too long to show)"
        assert by_tag["7FE0,0010"]["value"] == ""

    def test_unknown_is_404(self, orthanc: FakeOrthanc) -> None:
        """An unknown instance is a 404 naming it."""
        with pytest.raises(HttpError) as error:
            _get(api.instance_tags, orthanc, id=UNKNOWN)
        assert error.value.status == 404 and error.value.details == {"instance": UNKNOWN}
