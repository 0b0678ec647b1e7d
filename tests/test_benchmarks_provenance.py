"""benchmarks/provenance.py: what each section's JSON records about its run, and how the report reads it.

The git histories here are small temporary repositories made by the tests:
no benchmark and no DICOM file is involved.
"""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from benchmarks import provenance

_GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, **_GIT_ENV}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def _commit(root: Path, path: str, text: str) -> str:
    """Write ``path`` in ``root``, commit it alone, and return the short hash."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    _git(root, "add", path)
    _git(root, "commit", "-q", "-m", f"change {path}", "--", path)
    return _git(root, "rev-parse", "--short", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit touching previewer/."""
    _git(tmp_path, "init", "-q")
    _commit(tmp_path, "previewer/a.py", "a = 1\n")
    return tmp_path


class TestCommit:
    def test_clean_tree_is_the_short_head(self, repo: Path) -> None:
        """A clean work tree records HEAD's short hash, without +dirty."""
        assert provenance.commit(repo) == _git(repo, "rev-parse", "--short", "HEAD")

    @pytest.mark.parametrize("path", ["previewer/a.py", "static/new.js", "native/entry.c", "benchmarks/run.py"])
    def test_change_in_measured_code_is_dirty(self, repo: Path, path: str) -> None:
        """A modified or untracked file under previewer/, static/, native/ or benchmarks/ adds +dirty."""
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("changed\n")
        assert provenance.commit(repo) == _git(repo, "rev-parse", "--short", "HEAD") + "+dirty"

    @pytest.mark.parametrize("path", ["docs/API.md", "benchmarks/results/pixel.json", "benchmarks/RESULTS.md"])
    def test_docs_and_results_are_not_dirty(self, repo: Path, path: str) -> None:
        """Docs, and the results a run writes itself, leave the commit clean."""
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("changed\n")
        recorded = provenance.commit(repo)
        assert recorded is not None and not recorded.endswith("+dirty")

    def test_outside_git_is_none(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A folder outside any git work tree records no commit."""
        monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
        outside = tmp_path / "plain"
        outside.mkdir()
        assert provenance.commit(outside) is None


class TestCommitsSince:
    def test_counts_only_commits_touching_watched_folders(self, repo: Path) -> None:
        """Commits under previewer/, static/ or native/ count; docs/ and benchmarks/ do not."""
        base = _git(repo, "rev-parse", "--short", "HEAD")
        _commit(repo, "docs/x.md", "x\n")
        _commit(repo, "static/v.js", "v\n")
        _commit(repo, "benchmarks/b.py", "b\n")
        _commit(repo, "native/n.c", "n\n")
        _commit(repo, "previewer/a.py", "a = 2\n")
        assert provenance.commits_since(base, repo) == 3

    def test_dirty_suffix_counts_from_its_base(self, repo: Path) -> None:
        """A "+dirty" commit counts from the commit it was made on."""
        base = _git(repo, "rev-parse", "--short", "HEAD")
        _commit(repo, "static/v.js", "v\n")
        assert provenance.commits_since(base + "+dirty", repo) == 1

    def test_head_itself_is_zero(self, repo: Path) -> None:
        """A section measured at HEAD is not stale."""
        assert provenance.commits_since(_git(repo, "rev-parse", "--short", "HEAD"), repo) == 0

    def test_unknown_commit_is_none(self, repo: Path) -> None:
        """A commit this history lacks gives None, not a count."""
        assert provenance.commits_since("0123456", repo) is None


class TestStartFinish:
    def test_records_every_field(self, repo: Path) -> None:
        """start() and finish() record date, commit, command, machine, software and both load averages."""
        started = time.monotonic()
        record = provenance.finish(provenance.start("python -m benchmarks.run --only pixel", repo), started)
        assert set(record) == {"date", "commit", "command", "machine", "cpus", "software", "loadavg_before",
                               "loadavg_after", "seconds"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", record["date"])
        assert record["commit"] == _git(repo, "rev-parse", "--short", "HEAD")
        assert record["command"] == "python -m benchmarks.run --only pixel"
        assert record["machine"].startswith(f"{os.cpu_count()} CPUs, ")
        assert re.fullmatch(r"Orthanc [\d.?]+, Python [\d.]+, numpy \S+, pydicom \S+", record["software"])
        for key in ("loadavg_before", "loadavg_after"):
            assert re.fullmatch(r"\d+\.\d\d \d+\.\d\d \d+\.\d\d", record[key])

    def test_command_names_the_module_and_arguments(self) -> None:
        """command() joins the interpreter, -m, the module and the arguments, quoting where needed."""
        line = provenance.command(["--only", "a b"], "benchmarks.viewer_fps")
        assert line.endswith(" -m benchmarks.viewer_fps --only 'a b'")


class TestDescribe:
    def test_full_provenance(self, repo: Path) -> None:
        """A recorded section names its date, commit, staleness, command, machine and loads on one line."""
        base = _git(repo, "rev-parse", "--short", "HEAD")
        _commit(repo, "native/n.c", "n\n")
        data = {"quick": True, "provenance": {
            "date": "2026-12-08 09:15 UTC", "commit": base, "command": ".venv/bin/python -m benchmarks.run",
            "machine": "2 CPUs, Some CPU, 1000 MB RAM", "cpus": 2, "software": "Orthanc 1.10.1, Python 3.11.2",
            "loadavg_before": "0.10 0.20 0.30", "loadavg_after": "1.10 0.40 0.35", "seconds": 12.5}}
        line = provenance.describe(data, repo)
        assert "\n" not in line
        assert "*Measured* 2026-12-08 09:15 UTC" in line
        assert f"`{base}` (1 commit touching previewer/, static/ or native/ since)" in line
        assert "`.venv/bin/python -m benchmarks.run`" in line
        assert "2 CPUs, Some CPU, 1000 MB RAM" in line and "Orthanc 1.10.1, Python 3.11.2" in line
        assert "quick run" in line and "wall time 12.5 s" in line
        assert "0.10 0.20 0.30 → 1.10 0.40 0.35" in line
        assert "not recorded" not in line

    def test_legacy_file_says_not_recorded(self, repo: Path) -> None:
        """A file from before provenance keeps its own load averages and says "not recorded" for the rest."""
        line = provenance.describe({"loadavg_before": "0.49 0.13 0.16", "loadavg_after": "1.58 0.77 0.40",
                                    "quick": False}, repo)
        assert "*Measured* not recorded" in line and "*commit* not recorded" in line
        assert "*command* not recorded" in line and "*machine* not recorded" in line
        assert "0.49 0.13 0.16 → 1.58 0.77 0.40" in line

    def test_legacy_date_is_kept(self, repo: Path) -> None:
        """A legacy file's own "date" (request_path.py's --out files recorded one) is shown as recorded."""
        line = provenance.describe({"date": "2026-12-07 08:01 UTC"}, repo)
        assert "*Measured* 2026-12-07 08:01 UTC" in line
        assert line.endswith("*load average (1, 5, 15 min) before → after* not recorded.")

    def test_commit_unknown_to_the_clone(self, repo: Path) -> None:
        """A commit missing from this history is named as such, with no count."""
        line = provenance.describe({"provenance": {"commit": "0123456+dirty"}}, repo)
        assert "`0123456+dirty` (not in this clone's history)" in line

    def test_label_comes_first(self, repo: Path) -> None:
        """A label (which part of a section the line is about) starts the line."""
        assert provenance.describe({}, repo, "Revision 9d68be8").startswith("Revision 9d68be8: *Measured* ")


class TestBusy:
    def test_above_half_the_recorded_cpus(self) -> None:
        """A 1-minute load above half the recorded CPUs at the start gives the warning, naming both."""
        warning = provenance.busy({"provenance": {"cpus": 4, "loadavg_before": "2.50 1.00 1.00"}}, 2)
        assert warning is not None and "load average 2.50" in warning and "half of 4 CPUs" in warning

    def test_at_or_below_half_is_quiet(self) -> None:
        """At or below half the CPUs, no warning."""
        assert provenance.busy({"provenance": {"cpus": 4, "loadavg_before": "2.00 9.00 9.00"}}, 2) is None

    def test_default_cpus_for_a_legacy_file(self) -> None:
        """A file that recorded no CPU count is judged against the default."""
        assert provenance.busy({"loadavg_before": "1.66 1.10 0.57"}, 2) is not None
        assert provenance.busy({"loadavg_before": "1.66 1.10 0.57"}, 8) is None

    def test_no_load_recorded(self) -> None:
        """Without a recorded load average there is nothing to warn about."""
        assert provenance.busy({}, 2) is None

    def test_stamp_adds_the_warning_under_the_line(self, repo: Path) -> None:
        """stamp() is the describe line, a blank line, then the warning when busy."""
        lines = provenance.stamp({"loadavg_before": "3.00 1.00 1.00"}, 2, repo)
        assert lines[0].startswith("*Measured* ") and lines[1] == "" and lines[2].startswith("> **The machine")
        assert provenance.stamp(None, 2, repo) == []
