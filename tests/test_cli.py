"""The `previewer` command: serve (and how it stops), plugin-path and config."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import CT_SMALL, MR_SMALL
from orthanc_process import PLUGIN, OrthancProcess, default_sigint, free_port
from previewer.serve import cli
from previewer.config import Config

PREVIEWER = [sys.executable, "-m", "previewer.serve.cli"]


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

    def test_make_run_import_is_one_bar_and_a_summary_of_each_refusal(self, tmp_path: Path,
                                                                       plugin_path: Path) -> None:
        """`make run`'s serve with samples: Orthanc's log goes to STORAGE/orthanc.log during the import, the
        terminal shows one bar and a summary line per refused file with Orthanc's reason, then the log again."""
        storage = tmp_path / "storage"
        http_port, dicom_port = free_port(), free_port()
        out_path = tmp_path / "serve.out"
        with open(out_path, "wb") as out:
            process = spawn_serve(["--http-port", str(http_port), "--dicom-port", str(dicom_port),
                                   "--storage", str(storage)], stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{http_port}"
        try:
            deadline = time.monotonic() + 300
            while "is running at" not in out_path.read_text(errors="replace"):
                assert process.poll() is None and time.monotonic() < deadline, out_path.read_text()[-3000:]
                time.sleep(0.5)
            lines = out_path.read_bytes().decode(errors="replace").split("\n")   # keep the carriage returns
            start = next(i for i, line in enumerate(lines) if line.startswith("\rImporting samples ["))
            bar, summary = lines[start][1:], lines[start + 1]
            # One line of redrawn bars (carriage returns), ending at the full count.
            total = len(cli.sample_files())
            assert all(part.startswith("Importing samples [") for part in bar.split("\r")), bar[:500]
            assert bar.split("\r")[-1] == f"Importing samples [{'#' * 40}] {total}/{total}"
            stored, refused = (int(word) for word in summary.replace(",", "").split() if word.isdigit())
            assert summary == f"{stored} sample files stored, {refused} refused by Orthanc:"
            assert stored + refused == total and refused > 0
            named = lines[start + 2:start + 2 + refused]
            assert all(line.startswith("  ") and ": " in line for line in named), named
            assert lines[start + 2 + refused].startswith("Orthanc Previewer is running at"), lines[start + 2 + refused]
            # Nothing of Orthanc's log (glog lines: I/W/E, month, day) before start-up was done.
            assert not [line for line in lines[:start + 2 + refused] if line[:1] in "IWE" and line[1:5].isdigit()]
            log = (storage / "orthanc.log").read_text(errors="replace")
            assert "Orthanc has started" in log and "Store has failed" in log
            # Each named file is one Orthanc refuses again now, and its reason is a line Orthanc logged.
            by_name = {str(path.relative_to(path.parent.parent)) if path.parent.name == "dicomdirtests" else path.name:
                       path for path in cli.sample_files()}
            for line in named:
                name, reason = line.strip().split(": ", 1)
                assert reason in log or all(part in log for part in reason.split("; ")), (name, reason)
                answer = requests.post(url + "/instances", data=by_name[name].read_bytes(), timeout=60)
                assert answer.status_code >= 400, name
            # After start-up, Orthanc's log goes to the terminal again (this refusal is logged there).
            logged_before = log.count("Bad file format")
            requests.post(url + "/instances", data=b"not DICOM at all", timeout=30)
            deadline = time.monotonic() + 10
            while out_path.read_text(errors="replace").split("is running at", 1)[1].count("Bad file format") == 0:
                assert time.monotonic() < deadline, "Orthanc's log did not come back to the terminal"
                time.sleep(0.2)
            assert (storage / "orthanc.log").read_text(errors="replace").count("Bad file format") == logged_before
        finally:
            try:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGINT)
                process.wait(timeout=60)
            finally:
                kill_all(process, set())   # what a failed or timed-out stop left running
        assert process.returncode == 0, out_path.read_text()[-2000:]

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
        process = spawn_serve(["--http-port", str(http_port), "--dicom-port", str(dicom_port),
                               "--storage", str(tmp_path), "--no-samples"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
            try:
                # Ctrl-C in a terminal signals the whole foreground process group.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGINT)
                output = process.communicate(timeout=60)[0].decode(errors="replace")
            finally:
                kill_all(process, set())   # what a failed or timed-out stop left running
        assert process.returncode == 0, output
        assert not (tmp_path / cli.SAMPLES_MARKER).exists()


# --------------------------------------------------------------------------- stopping serve
# Helpers shared with tests/test_cluster.py (names without test_ so pytest does not collect them twice).
# Every test that starts `previewer serve` ends with kill_all() in a `finally`, so that serve and all it
# started are gone however the test ends (passed, failed, or a wait that timed out).

#: In the environment of each serve a test starts, with a value of that serve's own: the processes serve
#: starts inherit it, so kill_all() finds them even once they have left serve's process tree (pg_ctl's
#: PostgreSQL daemon, an Orthanc whose serve died).  nginx clears its environment: it is found as serve's
#: descendant (and has serve's parent-death signal); PostgreSQL's backends end with their postmaster.
SERVE_MARK = "PREVIEWER_TEST_SERVE"
_marks: dict[int, str] = {}          # serve's PID -> its mark
_started_at: dict[int, int] = {}     # PID -> start time, of every process descendants() has seen


def serve_env(serve: subprocess.Popen[Any] | None = None) -> dict[str, str]:
    """The environment for a serve: ours with a new mark, or with the mark of ``serve`` (whose kill_all()
    then stops what this one leaves)."""
    mark = _marks[serve.pid] if serve is not None else f"{os.getpid()}-{uuid.uuid4().hex}"
    return {**os.environ, SERVE_MARK: mark}


def spawn_serve(arguments: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """`previewer serve ARGUMENTS` in a session of its own, with SIGINT at its default, and a mark of its own."""
    env = serve_env()
    process = subprocess.Popen(PREVIEWER + ["serve", *arguments], env=env, start_new_session=True,
                               preexec_fn=default_sigint, **popen)
    _marks[process.pid] = env[SERVE_MARK]
    return process


def start_serve(folder: Path, http_port: int, dicom_port: int, *extra: str, log: str = "serve.log"
                ) -> subprocess.Popen[bytes]:
    """`previewer serve` in a session of its own, its output (and Orthanc's) in ``folder/../log``."""
    with open(folder.parent / f"{folder.name}-{log}", "ab") as out:
        return spawn_serve(["--http-port", str(http_port), "--dicom-port", str(dicom_port),
                            "--storage", str(folder), "--no-samples", *extra], stdout=out, stderr=subprocess.STDOUT)


def serve_log(folder: Path, log: str = "serve.log") -> str:
    return (folder.parent / f"{folder.name}-{log}").read_text(errors="replace")


def wait_answering(process: subprocess.Popen[bytes], urls: list[str], timeout: float = 90) -> None:
    """Until every URL answers /system, failing if serve exits first."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"serve exited with {process.returncode}"
        try:
            if all(requests.get(u + "/system", timeout=2).status_code == 200 for u in urls):
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, f"serve did not answer within {timeout} s"
        time.sleep(0.1)


def descendants(pid: int) -> set[int]:
    """Every living descendant of ``pid``, from the parent PIDs in /proc/*/stat (their start times are
    remembered, for kill_all)."""
    parents: dict[int, int] = {}
    started: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
            started[int(stat.parent.name)] = int(fields[19])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    _started_at.update((child, started[child]) for child in found)
    return found


def marked(mark: str) -> set[int]:
    """The living processes whose environment carries ``SERVE_MARK=mark``."""
    entry = f"{SERVE_MARK}={mark}".encode()
    found = set()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            variables = environ.read_bytes().split(b"\0")
        except OSError:
            continue
        if entry in variables:
            found.add(int(environ.parent.name))
    return found


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    """The PIDs of ``pids`` still running (not zombies) after at most ``timeout`` s."""
    from previewer.serve.supervise import start_time

    deadline = time.monotonic() + timeout
    alive = {p for p in pids if start_time(p) is not None}
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = {p for p in alive if start_time(p) is not None}
    return alive


def kill_all(process: subprocess.Popen[Any], pids: set[int]) -> None:
    """SIGKILL for whatever a test's serve left running, and a wait until it is gone: serve itself, its
    descendants, every process that carries its mark, and those of ``pids`` (PIDs descendants() gave)
    that are still the same processes.  Nothing else: a PID another process has since taken is left."""
    from previewer.serve.supervise import start_time

    mark = _marks.get(process.pid)
    left = marked(mark) if mark is not None else set()
    if process.poll() is None:   # not reaped: its PID and the tree below it are still serve's
        left |= {process.pid} | descendants(process.pid)
    left |= {pid for pid in pids if pid in _started_at and start_time(pid) == _started_at[pid]}
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()
    still = wait_gone(left - {process.pid}, STOP_BOUND)
    assert not still, f"still running after SIGKILL: {sorted(still)}"


def upload(url: str, path: Path) -> str:
    answer = requests.post(url + "/instances", data=path.read_bytes(), timeout=60)
    answer.raise_for_status()
    return str(answer.json()["ID"])


#: Bound within which every process serve started is gone after the signal.
STOP_BOUND = 30


class TestStopSignals:
    # One end-to-end run per signal family: SIGINT for the stop signals (SIGTERM
    # stops the restarted serve below; SIGHUP takes the same handler, which
    # tests/test_supervise.py checks in process) and SIGKILL for a death.
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=lambda s: signal.Signals(s).name)
    def test_signal_stops_orthanc_and_a_restart_finds_the_data(self, signum: int, tmp_path: Path,
                                                                plugin_path: Path) -> None:
        """A signal to serve alone (CT_small.dcm uploaded before) leaves no process, frees the ports,
        and serve on the same folder then starts and serves the instance."""
        from previewer.serve.supervise import port_is_free

        folder = tmp_path / "data"
        http_port, dicom_port = free_port(), free_port()
        url = f"http://127.0.0.1:{http_port}"
        serve = start_serve(folder, http_port, dicom_port)
        started: set[int] = set()
        try:
            wait_answering(serve, [url])
            instance = upload(url, CT_SMALL)
            started = descendants(serve.pid)
            assert len(started) == 1        # Orthanc
            os.kill(serve.pid, signum)
            code = serve.wait(STOP_BOUND)
            assert wait_gone(started, STOP_BOUND) == set()
        finally:
            kill_all(serve, started)
        log = serve_log(folder)
        if signum == signal.SIGKILL:
            assert code == -signal.SIGKILL
        else:
            assert code == 0, log
            assert f"previewer: {signal.Signals(signum).name} received; stopping Orthanc" in log
            assert "Orthanc has stopped" in log and "SIGKILL" not in log
        assert port_is_free(http_port) and port_is_free(dicom_port)
        again = start_serve(folder, http_port, dicom_port, log="again.log")
        try:
            wait_answering(again, [url])
            assert requests.get(f"{url}/instances/{instance}", timeout=10).status_code == 200
            assert requests.get(f"{url}/previewer/instances/{instance}/png", timeout=30).status_code == 200
            os.kill(again.pid, signal.SIGTERM)
            assert again.wait(STOP_BOUND) == 0
        finally:
            kill_all(again, set())
        assert "database is locked" not in serve_log(folder, "again.log")


class TestInUse:
    def test_second_serve_names_the_folder_or_port_and_the_holder(self, tmp_path: Path, plugin_path: Path) -> None:
        """A second serve on the same folder, or on another folder but the same port, says so in one line."""
        folder, other = tmp_path / "data", tmp_path / "other"
        http_port, dicom_port = free_port(), free_port()
        serve = start_serve(folder, http_port, dicom_port)
        started: set[int] = set()
        try:
            wait_answering(serve, [f"http://127.0.0.1:{http_port}"])
            started = descendants(serve.pid)
            orthanc = next(iter(started))
            same_folder = subprocess.run(PREVIEWER + ["serve", "--http-port", str(free_port()), "--dicom-port",
                                                      str(free_port()), "--storage", str(folder), "--no-samples"],
                                         capture_output=True, text=True, timeout=60, env=serve_env(serve))
            assert same_folder.returncode == 3
            assert same_folder.stdout == ""
            assert same_folder.stderr == f"previewer: the storage folder {folder} is in use by previewer serve " \
                                         f"(PID {serve.pid})\n"
            same_port = subprocess.run(PREVIEWER + ["serve", "--http-port", str(free_port()), "--dicom-port",
                                                    str(dicom_port), "--storage", str(other), "--no-samples"],
                                       capture_output=True, text=True, timeout=60, env=serve_env(serve))
            assert same_port.returncode == 3
            assert same_port.stderr == f"previewer: port {dicom_port} (DICOM) is in use by PID {orthanc} (Orthanc)\n"
            assert not (other / "orthanc.json").exists()
            os.kill(serve.pid, signal.SIGTERM)
            assert serve.wait(STOP_BOUND) == 0
        finally:
            kill_all(serve, started)
