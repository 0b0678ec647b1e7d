"""The processes ``previewer serve`` starts: signals, bounded stops, parent death, locks and ports.

- :func:`spawn` starts a child in a session of its own (Ctrl-C in the
  terminal reaches only ``serve``) with a parent-death signal: on Linux,
  ``prctl(PR_SET_PDEATHSIG)`` is set in the child between fork and exec, so
  the kernel sends it SIGTERM (Orthanc's clean shutdown) when ``serve``
  dies, even by SIGKILL.  The kernel ties that signal to the *thread* that
  forked, so ``serve`` forks from its main thread only.
- A process that cannot carry that signal (PostgreSQL: it changes user and
  is a daemon of ``pg_ctl``) is stopped by a :class:`Watchdog`: a small
  process of its own session that holds the read end of a pipe only
  ``serve`` writes to.  When ``serve`` dies the pipe closes; the watchdog
  waits (bounded) for the processes it was told about, then runs the stop
  commands it was given (``pg_ctl stop``).
- :func:`install_stop_handlers` turns the first SIGINT, SIGTERM or SIGHUP
  into :class:`StopRequested`; later ones are reported and ignored, so that
  exactly one signal is forwarded to each child.
- :func:`stop_process` forwards one signal, waits, then escalates to SIGKILL
  with a message.
- :func:`lock_folder` and :func:`check_ports` make a second ``serve`` on a
  folder or port in use say so in one line, with the PID that holds it.
"""
from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

PR_SET_PDEATHSIG = 1
LOCK_NAME = "serve.lock"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
RESERVED_PORTS = (8042, 4242)

#: Exit statuses of ``previewer serve``.
EXIT_STOPPED = 0        # stopped by a signal, every process exited cleanly
EXIT_FAILED = 1         # could not start, or Orthanc / a node exited by itself with an error
EXIT_USAGE = 2          # bad arguments
EXIT_IN_USE = 3         # the storage folder or a port is held by another process
EXIT_FORCED = 4         # stopped, but a process had to be killed after the stop timeout


class ServeError(RuntimeError):
    """``serve`` cannot go on (missing package, failed start); the message names the problem."""


class InUse(ServeError):
    """The storage folder or a port is already held by another process."""


class StopRequested(BaseException):
    """SIGINT, SIGTERM or SIGHUP reached ``serve`` (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def say(message: str) -> None:
    """One line on stderr, prefixed with the command's name."""
    try:
        print(f"previewer: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass   # the terminal is gone (SIGHUP): the stop goes on silently


# --------------------------------------------------------------------------- signals


def install_stop_handlers() -> dict[int, Any]:
    """Make the first stop signal raise StopRequested; return the previous handlers.

    A SIGINT that is ignored when ``serve`` starts (a background job of a
    script) stays ignored, as the shell meant; SIGTERM and SIGHUP still work.
    """
    state = {"stopping": False}

    def handler(signum: int, frame: FrameType | None) -> None:
        if state["stopping"]:
            say(f"{signal.Signals(signum).name} received while stopping; still waiting for the stop")
            return
        state["stopping"] = True
        raise StopRequested(signum)

    previous: dict[int, Any] = {}
    for signum in STOP_SIGNALS:
        current = signal.getsignal(signum)
        if signum == signal.SIGINT and current == signal.SIG_IGN:
            continue
        previous[signum] = current
        signal.signal(signum, handler)
    return previous


def restore_handlers(previous: Mapping[int, Any]) -> None:
    """Put back the handlers install_stop_handlers replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)


# --------------------------------------------------------------------------- children


def _parent_death(death_signal: int, parent: int) -> Callable[[], None]:
    """The preexec_fn of spawn: signals back to default, PR_SET_PDEATHSIG, and the fork race."""

    def preexec() -> None:
        for signum in (*STOP_SIGNALS, signal.SIGQUIT):
            signal.signal(signum, signal.SIG_DFL)   # an ignored SIGINT would be inherited by exec
        if death_signal and sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
            if os.getppid() != parent:      # the parent died before prctl: nobody would signal us
                os.kill(os.getpid(), death_signal)

    return preexec


def spawn(args: Sequence[str], *, death_signal: int = signal.SIGTERM,
          **popen: Any) -> subprocess.Popen[bytes]:
    """Popen in a new session, with ``death_signal`` sent by the kernel when this process dies.

    Call it from the main thread: the parent-death signal fires when the
    thread that forked ends.  ``death_signal=0`` sets none.
    """
    return subprocess.Popen(list(args), start_new_session=True,
                            preexec_fn=_parent_death(death_signal, os.getpid()), **popen)


def stop_process(process: subprocess.Popen[bytes], name: str, stop_signal: int = signal.SIGINT,
                 timeout: float = 30) -> tuple[int, bool]:
    """One ``stop_signal``, a wait of ``timeout`` s, then SIGKILL; (exit code, whether it was killed)."""
    if process.poll() is not None:
        return process.returncode, False
    process.send_signal(stop_signal)
    try:
        return process.wait(timeout), False
    except subprocess.TimeoutExpired:
        say(f"{name} (PID {process.pid}) did not stop within {timeout:g} s of "
            f"{signal.Signals(stop_signal).name}; sending SIGKILL")
        process.kill()
        return process.wait(), True


def start_time(pid: int) -> int | None:
    """The start time of ``pid`` (field 22 of /proc/PID/stat), None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


# --------------------------------------------------------------------------- the watchdog


class Watchdog:
    """A process that stops what ``serve`` started once ``serve``'s pipe to it closes.

    :meth:`watch` names a process to wait for (and optionally signal);
    :meth:`on_exit` a command to run after those are gone; :meth:`clear`
    forgets everything (``serve`` stopped them itself).  ``keep_fds`` are
    inherited by the watchdog (the folder lock: held until all is stopped).
    """

    def __init__(self, log: Path, keep_fds: Iterable[int] = (), timeout: float = 30) -> None:
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "previewer.serve.supervise", "watchdog", str(timeout)],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                pass_fds=tuple(keep_fds), cwd="/")

    def _send(self, *words: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((" ".join(words) + "\n").encode())
        self.process.stdin.flush()

    def watch(self, pid: int, stop_signal: int = 0) -> None:
        """Wait for ``pid`` after serve's death, sending it ``stop_signal`` first (0: none)."""
        self._send("watch", str(pid), str(start_time(pid) or 0), str(stop_signal))

    def on_exit(self, command: Sequence[str]) -> None:
        """Run ``command`` once the watched processes are gone."""
        self._send("run", json.dumps(list(command)))

    def clear(self) -> None:
        self._send("clear")

    def close(self, timeout: float = 10) -> None:
        """Close the pipe and wait for the watchdog to exit."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _alive(pid: int, started: int) -> bool:
    now = start_time(pid)
    return now is not None and (started == 0 or now == started)


def _watchdog(timeout: float) -> int:
    """The watchdog's main: read orders from stdin until EOF, then stop what is left."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    watched: list[tuple[int, int, int]] = []
    commands: list[list[str]] = []
    for line in sys.stdin:
        word, _, rest = line.strip().partition(" ")
        if word == "watch":
            pid, started, stop = (int(x) for x in rest.split())
            watched.append((pid, started, stop))
        elif word == "run":
            commands.append(json.loads(rest))
        elif word == "clear":
            watched, commands = [], []
    if not watched and not commands:
        return 0
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} previewer serve is gone; stopping what it started", flush=True)
    for pid, started, stop in watched:
        if stop and _alive(pid, started):
            os.kill(pid, stop)
    deadline = time.monotonic() + timeout
    while any(_alive(p, s) for p, s, _ in watched) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid, started, _ in watched:
        if _alive(pid, started):
            print(f"PID {pid} still running after {timeout:g} s; SIGKILL", flush=True)
            os.kill(pid, signal.SIGKILL)
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True)
        print(f"{' '.join(command)}: exit {result.returncode} {result.stderr.strip()}", flush=True)
    return 0


# --------------------------------------------------------------------------- the folder lock


def lock_folder(folder: Path) -> int:
    """An exclusive flock on ``folder/serve.lock`` holding this PID; the fd (pass it to the children).

    Raises InUse naming the PID written by the holder.  Children that
    inherit the fd keep the folder locked until they exit too.
    """
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 64).decode(errors="replace").strip()
        os.close(fd)
        raise InUse(_folder_message(folder, holder)) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _folder_message(folder: Path, holder: str) -> str:
    if not holder.isdigit():
        return f"the storage folder {folder} is in use by another previewer serve"
    if start_time(int(holder)) is None:
        return (f"the storage folder {folder} is in use: previewer serve PID {holder} has exited, "
                "but the processes it started are still stopping")
    return f"the storage folder {folder} is in use by previewer serve (PID {holder})"


# --------------------------------------------------------------------------- ports


def port_is_free(port: int, host: str = "0.0.0.0") -> bool:
    """Whether a listening socket could be bound on ``host:port`` now."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (never 8042 or 4242)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


def consecutive_free_ports(count: int, avoid: tuple[int, ...] = ()) -> int:
    """The first of ``count`` consecutive free ports (none of them 8042, 4242 or in ``avoid``)."""
    for _ in range(200):
        first = free_port()
        ports = range(first, first + count)
        if all(p not in (*RESERVED_PORTS, *avoid) and p < 65536 and port_is_free(p) for p in ports):
            return first
    raise ServeError(f"no {count} consecutive free ports found")


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on ``port`` (state 0A in /proc/net/tcp and tcp6)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def port_holder(port: int) -> tuple[int, str] | None:
    """(PID, command name) of a process listening on ``port``, if /proc shows one."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return None
    for entry in sorted(Path("/proc").iterdir(), key=lambda p: p.name):
        if entry.name.isdigit() and _fd_links(entry) & wanted:
            try:
                return int(entry.name), (entry / "comm").read_text().strip()
            except OSError:
                continue
    return None


def _fd_links(process: Path) -> set[str]:
    """The targets of /proc/PID/fd/* that can be read (fds come and go while we look)."""
    links: set[str] = set()
    try:
        fds = list((process / "fd").iterdir())
    except OSError:
        return links
    for fd in fds:
        try:
            links.add(os.readlink(fd))
        except OSError:
            continue
    return links


def check_ports(ports: Mapping[int, str]) -> None:
    """Raise InUse naming the first port of ``ports`` (port -> its use) that cannot be bound."""
    for port, use in ports.items():
        if port and not port_is_free(port):
            holder = port_holder(port)
            by = f" by PID {holder[0]} ({holder[1]})" if holder else ""
            raise InUse(f"port {port} ({use}) is in use{by}")


if __name__ == "__main__" and sys.argv[1:2] == ["watchdog"]:
    sys.exit(_watchdog(float(sys.argv[2])))
