"""The `previewer` command: serve, plugin-path and config."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import CT_SMALL, MR_SMALL
from orthanc_process import PLUGIN, OrthancProcess, free_port
from previewer import cli
from previewer.config import Config

PREVIEWER = [sys.executable, "-m", "previewer.cli"]


class TestPluginPath:
    def test_prints_the_built_plugin(self, plugin_path: Path) -> None:
        """plugin-path prints the path of the built .so."""
        out = subprocess.run(PREVIEWER + ["plugin-path"], capture_output=True, text=True, check=True).stdout
        assert Path(out.strip()) == PLUGIN


class TestConfig:
    def test_prints_a_fragment_with_plugin_and_section(self, plugin_path: Path) -> None:
        """config prints JSON with the plugin path and the default "Previewer" section."""
        out = subprocess.run(PREVIEWER + ["config"], capture_output=True, text=True, check=True).stdout
        fragment = json.loads(out)
        assert fragment["Plugins"] == [str(PLUGIN)]
        assert fragment["Previewer"] == Config().section()


class TestSamples:
    def test_import_reports_stored_and_refused(self, orthanc: OrthancProcess, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
        """import_samples posts each file, draws a progress bar and counts refusals."""
        junk = tmp_path / "not-dicom.dcm"
        junk.write_bytes(b"this is not DICOM")
        assert cli.import_samples(orthanc.url, [CT_SMALL, MR_SMALL, junk]) == (2, 1)
        err = capsys.readouterr().err
        assert "3/3" in err and "2 sample files stored, 1 refused" in err

    def test_sample_list_covers_the_corpora(self) -> None:
        """The samples include pydicom's and pydicom-data's images."""
        names = {path.name for path in cli.sample_files()}
        assert {"CT_small.dcm", "RG1_UNCI.dcm", "emri_small.dcm"} <= names
        # dicomdirtests' files have no suffix: a real 5-slice CT series among them
        assert {"2062", "2392", "2693", "3023", "3353"} <= names
        assert "DICOMDIR" not in names


class TestServe:
    def test_serves_and_stops_on_ctrl_c(self, tmp_path: Path, plugin_path: Path) -> None:
        """serve runs Orthanc with the plugin in the foreground; SIGINT stops it cleanly."""
        http_port, dicom_port = free_port(), free_port()
        process = subprocess.Popen(PREVIEWER + ["serve", "--http-port", str(http_port), "--dicom-port",
                                                str(dicom_port), "--storage", str(tmp_path), "--no-samples"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{http_port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(url + "/plugins/previewer", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.2)
            else:
                pytest.fail("previewer serve did not start")
            configuration = json.loads((tmp_path / "orthanc.json").read_text())
            assert configuration["HttpPort"] == http_port and configuration["DicomPort"] == dicom_port
            answer = requests.get(url + "/previewer/instances/none/png", timeout=10)
            assert answer.status_code == 404 and answer.json()["instance"] == "none"
        finally:
            # Ctrl-C in a terminal signals the whole foreground process group.
            import os
            os.killpg(process.pid, signal.SIGINT)
            output = process.communicate(timeout=60)[0].decode(errors="replace")
        assert process.returncode == 0, output
        assert not (tmp_path / cli.SAMPLES_MARKER).exists()
