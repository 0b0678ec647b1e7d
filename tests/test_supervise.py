"""previewer.serve.supervise: stop signals, bounded stops, parent death, the watchdog, the folder lock, ports.

No DICOM file is involved: the processes are ``sleep`` (coreutils) and small
Python programs given with ``-c``; the sockets are made by the tests.  No test asserts a duration:
real time is only a generous bound (``TIMEOUT``) on waits that end much sooner.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from previewer.serve import supervise

SLEEP = ["sleep", "60"]
IGNORES_SIGINT = [sys.executable, "-c",
                  "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); print('ready', flush=True); "
                  "time.sleep(60)"]
#: Seconds a wait may take on a loaded machine before the test fails: a bound, never the expected time.
TIMEOUT = 30


def _gone(pid: int, timeout: float = TIMEOUT) -> bool:
    """Whether ``pid`` has exited (or is a zombie) within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while supervise.start_time(pid) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def listener() -> Iterator[int]:
    """A socket of this process listening on a free port of 127.0.0.1; its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", supervise.free_port()))
        sock.listen()
        yield int(sock.getsockname()[1])


class TestStopHandlers:
    def test_first_signal_raises_later_ones_are_ignored(self) -> None:
        """SIGTERM raises StopRequested(SIGTERM); a SIGHUP after it is only reported."""
        previous = supervise.install_stop_handlers()
        try:
            with pytest.raises(supervise.StopRequested) as caught:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(TIMEOUT)   # the handler's exception ends the sleep
            assert caught.value.signum == signal.SIGTERM and str(caught.value) == "SIGTERM"
            os.kill(os.getpid(), signal.SIGHUP)   # must not raise
            time.sleep(0.05)
        finally:
            supervise.restore_handlers(previous)
        assert signal.getsignal(signal.SIGTERM) == previous[signal.SIGTERM]

    @pytest.mark.parametrize("signum", supervise.STOP_SIGNALS, ids=lambda s: signal.Signals(s).name)
    def test_every_stop_signal_stops_the_same_way(self, signum: int) -> None:
        """SIGINT, SIGTERM and SIGHUP each raise StopRequested naming the signal: one family."""
        before = signal.signal(signal.SIGINT, signal.default_int_handler)   # a runner may start us with it ignored
        previous = supervise.install_stop_handlers()
        try:
            with pytest.raises(supervise.StopRequested) as caught:
                os.kill(os.getpid(), signum)
                time.sleep(TIMEOUT)   # the handler's exception ends the sleep
            assert caught.value.signum == signum and str(caught.value) == signal.Signals(signum).name
        finally:
            supervise.restore_handlers(previous)
            signal.signal(signal.SIGINT, before)

    def test_an_ignored_sigint_stays_ignored(self) -> None:
        """A SIGINT ignored at start (a script's background job) is not taken over; SIGTERM is."""
        before = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            previous = supervise.install_stop_handlers()
            assert signal.SIGINT not in previous and signal.getsignal(signal.SIGINT) == signal.SIG_IGN
            assert signal.SIGTERM in previous
            supervise.restore_handlers(previous)
        finally:
            signal.signal(signal.SIGINT, before)


class TestSpawn:
    def test_child_dies_with_its_parent(self) -> None:
        """A child spawned by a process that is then SIGKILLed gets its parent-death signal."""
        parent = subprocess.Popen([sys.executable, "-c",
                                   "from previewer.serve import supervise; import time; "
                                   "p = supervise.spawn(['sleep', '60']); print(p.pid, flush=True); time.sleep(60)"],
                                  stdout=subprocess.PIPE, text=True)
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert supervise.start_time(child) is not None
        parent.kill()
        parent.wait()
        assert _gone(child)

    def test_child_gets_a_new_session_and_default_signals(self) -> None:
        """The child leads its own session, and a SIGINT ignored here is not ignored there."""
        before = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            child = supervise.spawn(SLEEP)
        finally:
            signal.signal(signal.SIGINT, before)
        try:
            assert os.getsid(child.pid) == child.pid
            ignored = int(next(line for line in Path(f"/proc/{child.pid}/status").read_text().splitlines()
                               if line.startswith("SigIgn:")).split()[1], 16)
            assert not ignored & (1 << (signal.SIGINT - 1))
        finally:
            child.kill()
            child.wait()


class TestStopProcess:
    def test_clean_stop(self) -> None:
        """sleep stops on the one SIGINT: its status, not killed."""
        child = supervise.spawn(SLEEP)
        assert supervise.stop_process(child, "sleep", signal.SIGINT, TIMEOUT) == (-signal.SIGINT, False)

    def test_escalates_to_sigkill_with_a_message(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A process that ignores SIGINT is killed once the timeout has passed, not before, and the message
        says so."""
        child = supervise.spawn(IGNORES_SIGINT, stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        started = time.monotonic()
        assert supervise.stop_process(child, "stubborn", signal.SIGINT, 0.5) == (-signal.SIGKILL, True)
        assert time.monotonic() - started >= 0.5
        assert f"stubborn (PID {child.pid}) did not stop within 0.5 s of SIGINT; sending SIGKILL" in \
            capsys.readouterr().err


class TestWatchdog:
    def test_stops_what_is_left_when_the_pipe_closes(self, tmp_path: Path) -> None:
        """Closing the pipe without clear: the watched process is signalled, then the command runs."""
        child = supervise.spawn(SLEEP, death_signal=0)
        watchdog = supervise.Watchdog(tmp_path / "watchdog.log", timeout=TIMEOUT)
        watchdog.watch(child.pid, signal.SIGTERM)
        watchdog.on_exit(["touch", str(tmp_path / "ran")])
        watchdog.close(TIMEOUT)   # returns once the watchdog has stopped the child and run the command
        assert watchdog.process.returncode == 0
        assert child.wait(TIMEOUT) == -signal.SIGTERM
        assert (tmp_path / "ran").exists()
        assert "previewer serve is gone" in (tmp_path / "watchdog.log").read_text()

    def test_clear_forgets_everything(self, tmp_path: Path) -> None:
        """After clear, closing the pipe stops nothing and runs nothing."""
        child = supervise.spawn(SLEEP, death_signal=0)
        try:
            watchdog = supervise.Watchdog(tmp_path / "watchdog.log", timeout=TIMEOUT)
            watchdog.watch(child.pid, signal.SIGTERM)
            watchdog.on_exit(["touch", str(tmp_path / "ran")])
            watchdog.clear()
            watchdog.close(TIMEOUT)
            assert watchdog.process.returncode == 0
            assert child.poll() is None and not (tmp_path / "ran").exists()
        finally:
            child.kill()
            child.wait()


class TestLockFolder:
    def test_second_lock_names_the_holder(self, tmp_path: Path) -> None:
        """Another process cannot lock the folder while we hold it; its error names our PID."""
        fd = supervise.lock_folder(tmp_path)
        try:
            assert (tmp_path / supervise.LOCK_NAME).read_text() == f"{os.getpid()}\n"
            other = subprocess.run([sys.executable, "-c",
                                    "import sys; from pathlib import Path; from previewer.serve import supervise\n"
                                    "try: supervise.lock_folder(Path(sys.argv[1]))\n"
                                    "except supervise.InUse as e: print(e)", str(tmp_path)],
                                   capture_output=True, text=True, check=True)
            assert other.stdout.strip() == f"the storage folder {tmp_path} is in use by previewer serve " \
                                           f"(PID {os.getpid()})"
        finally:
            os.close(fd)
        os.close(supervise.lock_folder(tmp_path))   # free again once closed

    def test_an_inheriting_child_keeps_the_lock(self, tmp_path: Path) -> None:
        """A child given the fd holds the lock after we close ours, until it exits."""
        fd = supervise.lock_folder(tmp_path)
        child = supervise.spawn(SLEEP, pass_fds=(fd,))
        os.close(fd)
        try:
            with pytest.raises(supervise.InUse, match="in use by previewer serve"):
                supervise.lock_folder(tmp_path)
        finally:
            child.kill()
            child.wait()
        os.close(supervise.lock_folder(tmp_path))


class TestPorts:
    def test_port_holder_finds_this_process(self, listener: int) -> None:
        """/proc/net/tcp -> inode -> /proc/PID/fd finds the PID of the listening socket."""
        pid, name = supervise.port_holder(listener) or (0, "")
        assert pid == os.getpid() and name == Path("/proc/self/comm").read_text().strip()

    def test_check_ports_names_port_use_and_pid(self, listener: int) -> None:
        """A port in use raises InUse with the port, its use and the holder."""
        assert not supervise.port_is_free(listener)
        with pytest.raises(supervise.InUse) as caught:
            supervise.check_ports({supervise.free_port(): "DICOM", listener: "HTTP"})
        assert str(caught.value).startswith(f"port {listener} (HTTP) is in use by PID {os.getpid()} (")

    def test_free_ports_pass(self) -> None:
        """Free ports (and 0, "not set") raise nothing; no free port is 8042 or 4242."""
        port = supervise.free_port()
        supervise.check_ports({port: "HTTP", 0: "PostgreSQL"})
        assert port not in (8042, 4242) and supervise.port_holder(port) is None
