"""benchmarks/report.py: RESULTS.md gives every section its own date, commit, staleness, command and load.

The sections fed here are small JSON dicts written by the tests (the shapes
memory.py and request_targets.py write, with made-up numbers): the report is
about their provenance, not the numbers.  The git history is a temporary
repository made by the tests.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report

_GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **_GIT_ENV}).stdout.strip()


def _commit(root: Path, path: str) -> str:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(path + "\n")
    _git(root, "add", path)
    _git(root, "commit", "-q", "-m", path, "--", path)
    return _git(root, "rev-parse", "--short", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A history of 4 commits: previewer/, then docs/, static/ and native/ (2 of which count as code)."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    for path in ("previewer/a.py", "docs/a.md", "static/a.js", "native/a.c"):
        _commit(root, path)
    return root


def _first_commit(root: Path) -> str:
    return _git(root, "rev-list", "--max-parents=0", "--abbrev-commit", "HEAD")


def _provenance(commit: str, load: str = "0.20 0.30 0.40") -> dict[str, Any]:
    return {"date": "2026-12-08 09:15 UTC", "commit": commit, "command": ".venv/bin/python -m benchmarks.run",
            "machine": "2 CPUs, Test CPU, 1000 MB RAM", "cpus": 2, "software": "Orthanc 1.10.1, Python 3.11.2",
            "loadavg_before": load, "loadavg_after": "1.00 0.50 0.45", "seconds": 3.0}


def _memory(**extra: Any) -> dict[str, Any]:
    return {"cache_size_mb": 64, "duration_s": 1.0, "load": {"requests": 10, "rps": 5.0, "statuses": {"200": 10}},
            "instances": {"ct": 1, "cr": 1}, "samples": 3, "baseline_rss_mb": 80.0, "peak_rss_mb": 150.0,
            "end_rss_mb": 120.0, "peak_minus_baseline_mb": 70.0, "allowed_peak_mb": 244.0,
            "cache_stats": {"bytes": 1, "entries": 1}, "quick": False, **extra}


def _wrk(**extra: Any) -> dict[str, Any]:
    return {"load_generator": "wrk -t1", "rounds": 1, "seconds_per_round": 1, "quick": True,
            "cases": {"warm": {"rps": {"ours": 300.0, "core": 270.0}, "rounds": {"ours": [300.0], "core": [270.0]},
                               "ratio": 1.11}}, **extra}


def _under(text: str, heading: str) -> list[str]:
    """The lines after ``heading`` up to the next heading."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return lines[start:end]


class TestSectionLines:
    def test_each_section_has_its_own_line(self, repo: Path) -> None:
        """Each section's heading is followed by its own date, commit, command, machine and loads."""
        base = _first_commit(repo)
        text = report.render({"memory": _memory(provenance=_provenance(base)),
                              "request_targets": _wrk(provenance=_provenance("0123456"))}, repo, 2)
        memory = _under(text, "## Memory")
        assert memory[0] == "" and memory[1].startswith("*Measured* 2026-12-08 09:15 UTC; *commit* ")
        assert f"`{base}` (2 commits touching previewer/, static/ or native/ since)" in memory[1]
        assert "`.venv/bin/python -m benchmarks.run`" in memory[1] and "2 CPUs, Test CPU" in memory[1]
        assert "0.20 0.30 0.40 → 1.00 0.50 0.45" in memory[1]
        wrk = _under(text, "### Warm requests against core /rendered with wrk")
        assert "`0123456` (not in this clone's history)" in wrk[1] and "quick run" in wrk[1]

    def test_staleness_counts_code_commits_after_the_section(self, repo: Path) -> None:
        """A section measured at HEAD is 0 commits behind; one measured earlier counts only code commits."""
        head = _git(repo, "rev-parse", "--short", "HEAD")
        docs = _git(repo, "rev-parse", "--short", "HEAD~2")   # the docs/ commit: static/ and native/ came after
        text = report.render({"memory": _memory(provenance=_provenance(head)),
                              "request_targets": _wrk(provenance=_provenance(docs))}, repo, 2)
        assert "(0 commits touching" in _under(text, "## Memory")[1]
        assert "(2 commits touching" in _under(text, "### Warm requests against core /rendered with wrk")[1]
        rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
        assert rows["memory"].split(" | ")[3] == "0" and rows["request_targets"].split(" | ")[3] == "2"

    def test_old_file_says_not_recorded(self, repo: Path) -> None:
        """A file without provenance shows "not recorded" for what it lacks, and its own load averages."""
        text = report.render({"memory": _memory(loadavg_before="0.40 0.10 0.10", loadavg_after="2.00 1.00 0.50")},
                             repo, 2)
        line = _under(text, "## Memory")[1]
        for field in ("*Measured*", "*commit*", "*command*", "*machine*"):
            assert f"{field} not recorded" in line
        assert "0.40 0.10 0.10 → 2.00 1.00 0.50" in line
        row = next(r for r in text.splitlines() if r.startswith("| memory |"))
        assert row == "| memory | not recorded | not recorded | not recorded | 0.40 0.10 0.10 | no |"

    def test_no_global_date_or_command(self, repo: Path) -> None:
        """The header no longer names one date and one command for all sections."""
        text = report.render({"memory": _memory(provenance=_provenance(_first_commit(repo)))}, repo, 2)
        header = text.split("## Targets")[0]
        assert "- command:" not in header and "- date:" not in header
        assert "2026-12-08 09:15 UTC" in header   # only in the overview table's row for memory


class TestBusy:
    def test_only_the_busy_section_says_so(self, repo: Path) -> None:
        """The busy-machine warning sits under the section that started above half the CPUs, not the others."""
        base = _first_commit(repo)
        text = report.render({"memory": _memory(provenance=_provenance(base, load="1.66 1.10 0.57")),
                              "request_targets": _wrk(provenance=_provenance(base, load="0.30 0.20 0.10"))}, repo, 2)
        assert any(line.startswith("> **The machine was busy") for line in _under(text, "## Memory"))
        wrk = _under(text, "### Warm requests against core /rendered with wrk")
        assert not any("busy" in line for line in wrk)
        assert text.count("The machine was busy") == 1

    def test_recorded_cpus_win_over_the_default(self, repo: Path) -> None:
        """A section's own CPU count decides, not the report machine's."""
        prov = {**_provenance(_first_commit(repo), load="1.66 1.10 0.57"), "cpus": 8}
        assert "busy" not in report.render({"memory": _memory(provenance=prov)}, repo, 2)


class TestFiles:
    def test_load_all_reads_the_shown_sections(self, tmp_path: Path) -> None:
        """load_all() reads each shown section's file and ignores files the report does not show."""
        (tmp_path / "memory.json").write_text(json.dumps(_memory()))
        (tmp_path / "cluster.json").write_text("{}")
        assert list(report.load_all(tmp_path)) == ["memory"]

    def test_main_prints_a_folder_report(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`benchmarks.report --results DIR` prints DIR's report and leaves RESULTS.md alone."""
        (tmp_path / "memory.json").write_text(json.dumps(_memory(provenance=_provenance("0123456"))))
        before = (report.HERE / "RESULTS.md").read_text()
        assert report.main(["--results", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert out.startswith("# Benchmark results") and "`0123456` (not in this clone's history)" in out
        assert (report.HERE / "RESULTS.md").read_text() == before

    def test_committed_results_have_a_line_per_section(self) -> None:
        """Every section in benchmarks/results/ gets its line in the report of the committed files."""
        sections = report.load_all()
        text = report.render(sections)
        stamps = [line for line in text.splitlines() if "*Measured* " in line]
        assert len(stamps) >= len(sections)   # the MPR table repeats viewer_fps's line
        overview = [line for line in text.split("## Targets")[0].splitlines() if line.startswith("| ")][1:]
        assert [row.split(" | ")[0].strip("| ").split(" (")[0] for row in overview] == list(sections)
