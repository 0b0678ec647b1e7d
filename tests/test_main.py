"""previewer/plugin/main.py: start-up inside a real Orthanc, configured as Debian's service is."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orthanc_process import OrthancProcess


class _FolderOrthanc(OrthancProcess):
    """Orthanc given a configuration folder without a trailing slash (Debian's systemd unit does so).

    Its "Previewer" section lives in a file of its own, as `make install` writes it.
    """

    def __init__(self, folder: Path, section: dict[str, Any]) -> None:
        super().__init__(folder, probe=False)
        self.section = section
        del self.config["Previewer"]

    @property
    def config_path(self) -> Path:
        return self.folder / "conf" / "orthanc.json"

    @property
    def config_argument(self) -> str:
        return str(self.folder / "conf")

    def start(self, timeout: float = 60.0, expect_failure: bool = False) -> OrthancProcess:
        (self.folder / "conf").mkdir(parents=True, exist_ok=True)
        (self.folder / "conf" / "previewer.json").write_text(json.dumps({"Previewer": self.section}))
        return super().start(timeout, expect_failure)


@pytest.mark.slow   # starts Orthanc
class TestConfigurationFolder:
    def test_section_of_a_folder_without_trailing_slash_applies(self, tmp_path: Path) -> None:
        """The section is read from Orthanc's merged configuration, not from the files of a guessed path."""
        with _FolderOrthanc(tmp_path, {"CacheSizeMB": 48}) as orthanc:
            stats = orthanc.get("/previewer/stats").json()
        assert stats["cache"]["limit_bytes"] == 48 * 2**20

    def test_invalid_value_in_that_folder_stops_orthanc(self, tmp_path: Path) -> None:
        """An invalid value in the folder's previewer.json stops Orthanc with a message naming the option."""
        orthanc = _FolderOrthanc(tmp_path, {"CacheSizeMB": "lots"}).start(expect_failure=True)
        assert orthanc.wait_exit(30) != 0
        assert "CacheSizeMB" in orthanc.log()
