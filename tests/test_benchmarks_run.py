"""benchmarks/run.py: `make bench` runs every section RESULTS.md shows, each written with its provenance."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report, run


class TestSections:
    def test_default_run_covers_every_shown_section(self) -> None:
        """Every section the report shows is run with no --only, except the older revisions' references."""
        assert set(run.SECTIONS) == set(report.SHOWN) - set(report.REFERENCE_SECTIONS)

    def test_unknown_section_is_refused(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--only with a name that is no section stops before running anything, naming it."""
        with pytest.raises(SystemExit) as stopped:
            run.main(["--only", "pixel,nosuch", "--results", str(tmp_path)])
        assert stopped.value.code == 2
        assert "'nosuch'" in capsys.readouterr().err
        assert list(tmp_path.iterdir()) == []


class TestRunSection:
    def test_writes_provenance(self, tmp_path: Path) -> None:
        """run_section() writes the section's data with quick and its provenance (commit, command, loads)."""
        def count_files(quick: bool) -> dict[str, Any]:   # a real, tiny measurement: files in benchmarks/
            return {"files": len(list(report.HERE.glob("*.py")))}

        data = run.run_section("tiny", count_files, True, "python -m benchmarks.run --only tiny", tmp_path)
        written = json.loads((tmp_path / "tiny.json").read_text())
        assert written == data
        assert written["files"] > 0 and written["quick"] is True
        p = written["provenance"]
        assert p["command"] == "python -m benchmarks.run --only tiny"
        assert p["commit"] and p["loadavg_before"] and p["loadavg_after"] and p["seconds"] >= 0
