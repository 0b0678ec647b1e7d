"""Every wrapper of previewer.plugin.sdk, driven through a real Orthanc process.

The routes used here come from tests/plugin_probe.py and tests/probe_waits.py, which the test
configuration loads into the plugin; docs/SDK_COVERAGE.md maps each SDK
function to the tests below.
"""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pydicom
import pytest
import requests
from PIL import Image

from pydicom.data import get_testdata_file

from conftest import CT_SMALL, MR_SMALL, tool
from orthanc_process import OrthancProcess, orthanc_version, redirect_status

LIVER_1FRAME = Path(get_testdata_file("liver_1frame.dcm"))  # has an AccessionNumber


pytestmark = pytest.mark.slow   # every test runs a real Orthanc

class TestPluginLoading:
    def test_log_names_plugin_and_version(self, orthanc: OrthancProcess) -> None:
        """Orthanc's log names the plugin and its version."""
        log = orthanc.log()
        assert "Registering plugin 'previewer' (version 0.1.0)" in log
        assert "Orthanc Previewer 0.1.0:" in log
        assert "MmapThresholdKB=1024" in log and "glibc refused" not in log

    def test_plugin_listed_by_orthanc(self, orthanc: OrthancProcess) -> None:
        """/plugins lists the previewer with its version."""
        assert "previewer" in orthanc.get("/plugins").json()
        assert orthanc.get("/plugins/previewer").json()["Version"] == "0.1.0"

    def test_stops_cleanly(self, tmp_path: Path) -> None:
        """SIGTERM stops Orthanc with status 0, after the plugin's Finalize."""
        process = OrthancProcess(tmp_path).start()
        assert process.get("/previewer/instances/x/png").status_code == 404
        assert process.stop() == 0
        assert "Unregistering plugin 'previewer' (version 0.1.0)" in process.log()

    def test_broken_python_import_stops_orthanc(self, tmp_path: Path) -> None:
        """A plugin whose Python import fails makes Orthanc exit non-zero, naming the error."""
        shadow = tmp_path / "shadow" / "previewer"
        shadow.mkdir(parents=True)
        (shadow / "__init__.py").write_text("import module_that_does_not_exist_42\n")
        process = OrthancProcess(tmp_path / "orthanc", env={"PYTHONPATH": str(shadow.parent)})
        process.start(expect_failure=True)
        assert process.wait_exit() != 0
        log = process.log()
        assert "ModuleNotFoundError: No module named 'module_that_does_not_exist_42'" in log
        assert "cannot import the Python package 'previewer'" in log

    def test_invalid_configuration_stops_orthanc(self, tmp_path: Path) -> None:
        """An invalid "Previewer" value makes Initialize fail with a message naming the option."""
        process = OrthancProcess(tmp_path, previewer={"CacheSizeMB": -5}, probe=False)
        process.start(expect_failure=True)
        assert process.wait_exit() != 0
        assert '"Previewer.CacheSizeMB" must be an integer >= 0, not -5' in process.log()


class TestCorePaths:
    def test_paths_and_version(self, orthanc: OrthancProcess) -> None:
        """GetOrthancPath, GetOrthancDirectory, GetConfigurationPath and CheckVersion."""
        paths = orthanc.get("/probe/paths").json()
        assert paths["orthanc_path"] == "/usr/sbin/Orthanc"
        assert paths["orthanc_directory"] == "/usr/sbin"
        assert Path(paths["configuration_path"]) == orthanc.config_path
        assert paths["version_ok"] is True


class TestLogging:
    def test_three_levels_reach_the_log(self, orthanc: OrthancProcess) -> None:
        """LogInfo, LogWarning and LogError write to Orthanc's log at their levels."""
        assert orthanc.get("/probe/log", params={"marker": "m-7731"}).status_code == 200
        lines = orthanc.log().splitlines()
        assert any(line.startswith("I") and "probe-info m-7731" in line for line in lines)
        assert any(line.startswith("W") and "probe-warning m-7731" in line for line in lines)
        assert any(line.startswith("E") and "probe-error m-7731" in line for line in lines)


class TestLookups:
    def test_each_lookup_kind(self, orthanc: OrthancProcess) -> None:
        """LookupPatient/Study/StudyWithAccessionNumber/Series/Instance find an upload."""
        answer = orthanc.upload(LIVER_1FRAME)
        ds = pydicom.dcmread(LIVER_1FRAME, stop_before_pixels=True)
        instance = orthanc.get(f"/instances/{answer['ID']}").json()
        series = orthanc.get(f"/series/{instance['ParentSeries']}").json()
        study = orthanc.get(f"/studies/{series['ParentStudy']}").json()
        expected = {
            "patient": (ds.PatientID, study["ParentPatient"]),
            "study": (ds.StudyInstanceUID, series["ParentStudy"]),
            "accession": (ds.AccessionNumber, series["ParentStudy"]),
            "series": (ds.SeriesInstanceUID, instance["ParentSeries"]),
            "instance": (ds.SOPInstanceUID, answer["ID"]),
        }
        for kind, (value, orthanc_id) in expected.items():
            assert value, f"liver_1frame has no value for the {kind} lookup"
            found = orthanc.get(f"/probe/lookup/{kind}", params={"value": value}).json()
            assert found["id"] == orthanc_id, kind

    def test_unknown_values_give_none(self, orthanc: OrthancProcess) -> None:
        """A lookup of an unknown value answers None, not an error."""
        for kind in ("patient", "study", "accession", "series", "instance"):
            found = orthanc.get(f"/probe/lookup/{kind}", params={"value": "1.2.3.no.such"}).json()
            assert found["id"] is None, kind


class TestRestApi:
    def test_get_post_put_delete(self, orthanc: OrthancProcess) -> None:
        """RestApiGet, RestApiPost, RestApiPut and RestApiDelete reach the core API."""
        system = json.loads(orthanc.get("/probe/rest/system").content)
        assert system["Version"] == ".".join(str(number) for number in orthanc_version())
        created = json.loads(orthanc.http.post(orthanc.url + "/probe/rest/tools/create-dicom",
                                               data=json.dumps({"Tags": {"PatientID": "REST-POST"}})).content)
        instance = created["ID"]
        put = orthanc.http.put(orthanc.url + f"/probe/rest/instances/{instance}/metadata/1024", data=b"put-value")
        assert put.status_code == 200
        assert orthanc.get(f"/instances/{instance}/metadata/1024").text == "put-value"
        deleted = orthanc.http.delete(orthanc.url + f"/probe/rest/instances/{instance}")
        assert deleted.json() == {}
        assert orthanc.get(f"/instances/{instance}").status_code == 404

    def test_error_code_becomes_orthanc_error(self, orthanc: OrthancProcess) -> None:
        """A failing call raises OrthancError with Orthanc's code and description."""
        answer = orthanc.get("/probe/rest/instances/does-not-exist").json()
        assert answer["error_code"] == 17
        assert answer["description"] == "Unknown resource"


class TestDicomForInstance:
    def test_copied_and_borrowed_match_the_file(self, orthanc: OrthancProcess, ct_id: str) -> None:
        """GetDicomForInstance returns the stored file, copied or borrowed without copy."""
        answer = orthanc.get(f"/probe/dicom/{ct_id}").json()
        expected = hashlib.md5(CT_SMALL.read_bytes()).hexdigest()
        assert answer["md5"] == expected
        assert answer["borrowed_md5"] == expected


class TestAnswers:
    def test_cookie(self, orthanc: OrthancProcess) -> None:
        """SetCookie sets a cookie that the HTTP client sees."""
        answer = orthanc.get("/probe/answer/cookie")
        assert answer.cookies.get("probe") == "cookie-value"

    def test_header(self, orthanc: OrthancProcess) -> None:
        """SetHttpHeader adds a header to the answer."""
        assert orthanc.get("/probe/answer/header").headers["X-Probe"] == "header-value"

    def test_unauthorized(self, orthanc: OrthancProcess) -> None:
        """SendUnauthorized answers 401 with the realm."""
        answer = orthanc.get("/probe/answer/unauthorized")
        assert answer.status_code == 401
        assert 'realm="probe-realm"' in answer.headers["WWW-Authenticate"]

    def test_redirect(self, orthanc: OrthancProcess) -> None:
        """Redirect answers 301 (307 since Orthanc 1.12.4) with a Location."""
        answer = orthanc.get("/probe/answer/redirect", allow_redirects=False)
        assert answer.status_code == redirect_status()
        assert answer.headers["Location"] == "/app/explorer.html"

    def test_method_not_allowed(self, orthanc: OrthancProcess) -> None:
        """SendMethodNotAllowed answers 405 with an Allow header."""
        answer = orthanc.get("/probe/answer/not-allowed")
        assert answer.status_code == 405
        assert answer.headers["Allow"] == "GET,HEAD"

    def test_status_code(self, orthanc: OrthancProcess) -> None:
        """SendHttpStatusCode sends a bare status."""
        assert orthanc.get("/probe/answer/status", params={"code": "204"}).status_code == 204

    def test_status_with_body(self, orthanc: OrthancProcess) -> None:
        """SendHttpStatus sends an error status with a body."""
        answer = orthanc.get("/probe/answer/status-body", params={"code": "409"})
        assert answer.status_code == 409
        assert answer.json() == {"probe": True}

    def test_png(self, orthanc: OrthancProcess) -> None:
        """CompressAndAnswerPngImage sends the pixels as a PNG."""
        answer = orthanc.get("/probe/answer/png")
        assert answer.headers["Content-Type"] == "image/png"
        image = Image.open(io.BytesIO(answer.content))
        assert image.size == (256, 4) and image.mode == "L"
        assert list(image.tobytes()[:256]) == list(range(256))

    def test_exception_is_logged_and_orthanc_goes_on(self, orthanc: OrthancProcess) -> None:
        """An exception in a callback is logged with its traceback; Orthanc keeps serving."""
        answer = orthanc.get("/probe/answer/raise")
        assert answer.status_code == 500
        log = orthanc.log()
        assert log.count("RuntimeError: deliberate failure raised by the probe") == 1
        assert "Traceback (most recent call last)" in log
        assert orthanc.get("/system").status_code == 200


class TestLocking:
    # tests/probe_waits.py: each call of /probe/waits/{locked,unlocked} waits until ``meet`` calls of its
    # route are inside at once, or ``patience`` seconds; the route's record says who entered and left when.
    @staticmethod
    def _four_at_once(orthanc: OrthancProcess, route: str, meet: int, patience: float) -> list[dict[str, Any]]:
        answers: list[dict[str, Any]] = []

        def call() -> None:
            answers.append(requests.get(f"{orthanc.url}/probe/waits/{route}",
                                        params={"meet": str(meet), "patience": str(patience)}, timeout=120).json())
        orthanc.get("/probe/waits/calls", params={"route": route})   # an empty record
        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers

    def test_lock_serialises_and_nolock_runs_in_parallel(self, orthanc: OrthancProcess) -> None:
        """RegisterRestCallback: four calls made at once, each waiting 0.5 s for a second one, never meet and
        each leaves before the next enters; RegisterRestCallbackNoLock: four calls are inside together."""
        answers = self._four_at_once(orthanc, "locked", 2, 0.5)
        assert answers == [{"met": False, "inside": 1}] * 4
        record = orthanc.get("/probe/waits/calls", params={"route": "locked"}).json()
        assert [step for step, _ in record] == ["enter", "leave"] * 4
        assert all(record[i][1] == record[i + 1][1] for i in range(0, 8, 2))
        # Each unlocked call waits (up to 60 s) until all four are inside: all enter before any leaves.
        answers = self._four_at_once(orthanc, "unlocked", 4, 60)
        assert answers == [{"met": True, "inside": 4}] * 4
        record = orthanc.get("/probe/waits/calls", params={"route": "unlocked"}).json()
        assert [step for step, _ in record] == ["enter"] * 4 + ["leave"] * 4


class TestStoredInstance:
    def test_callback_sees_the_instance(self, orthanc: OrthancProcess) -> None:
        """OnStoredInstance: size, data, JSON, simplified JSON and metadata of an upload."""
        instance_id = orthanc.upload(CT_SMALL)["ID"]
        record = orthanc.get(f"/probe/stored/{instance_id}")
        if record.status_code == 404:   # CT_small may have been stored by an earlier test
            instance_id = orthanc.upload(_with_new_uid(CT_SMALL, orthanc.folder))["ID"]
            record = orthanc.get(f"/probe/stored/{instance_id}")
        seen = record.json()
        stored = orthanc.get(f"/instances/{instance_id}/file").content
        assert seen["size"] == seen["data_length"] == len(stored)
        assert seen["data_md5"] == hashlib.md5(stored).hexdigest()
        assert seen["json_has_patient_id"] is True
        assert seen["simplified_patient_id"] == pydicom.dcmread(CT_SMALL).PatientID
        assert seen["has_reception_date"] is True
        assert seen["metadata_missing"] is None

    def test_remote_aet_from_storescu(self, orthanc: OrthancProcess, tmp_path: Path) -> None:
        """GetInstanceRemoteAet names the AET of dcmtk's storescu."""
        source = _with_new_uid(MR_SMALL, tmp_path)
        subprocess.run([tool("storescu", "dcmtk"), "-aet", "PROBESCU", "-aec", "ORTHANC", "127.0.0.1",
                        str(orthanc.dicom_port), str(source)], check=True, capture_output=True, timeout=60)
        uid = pydicom.dcmread(source, stop_before_pixels=True).SOPInstanceUID
        instance_id = orthanc.get("/probe/lookup/instance", params={"value": uid}).json()["id"]
        seen = orthanc.get(f"/probe/stored/{instance_id}").json()
        assert seen["remote_aet"] == "PROBESCU"
        assert seen["metadata_remote_aet"] == "PROBESCU"


class TestStorageArea:
    def test_orthanc_stores_reads_and_removes_through_python(self, tmp_path: Path) -> None:
        """RegisterStorageArea: Orthanc writes, reads and deletes files through Python."""
        area = tmp_path / "area"
        process = OrthancProcess(tmp_path / "orthanc", extra={"PreviewerProbe": {"StorageArea": str(area)},
                                                                    "MaximumStorageCacheSize": 0})
        with process:
            instance_id = process.upload(CT_SMALL)["ID"]
            files = list(area.iterdir())
            assert any(path.read_bytes() == CT_SMALL.read_bytes() for path in files)
            assert process.get(f"/instances/{instance_id}/file").content == CT_SMALL.read_bytes()
            assert process.get("/probe/storage").json()["read"] >= 1
            assert process.get(f"/previewer/instances/{instance_id}/png").status_code == 200
            assert process.http.delete(process.url + f"/instances/{instance_id}").status_code == 200
            stats = process.get("/probe/storage").json()
            assert stats["remove"] >= 1
            assert not any(path.read_bytes() == CT_SMALL.read_bytes() for path in area.iterdir())


def _with_new_uid(source: Path, folder: Path) -> Path:
    """A copy of ``source`` with a fresh SOP Instance UID (so Orthanc stores it anew)."""
    ds = pydicom.dcmread(source)
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    target = folder / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(target)
    return target
