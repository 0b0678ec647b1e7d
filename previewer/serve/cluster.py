"""``previewer serve --nodes N --postgres URL|auto``: several Orthanc nodes on one index.

N Orthanc processes, each with the previewer plugin and Debian's
``orthanc-postgresql`` index plugin, share one PostgreSQL index and one
storage folder; an optional nginx balances HTTP round-robin over them.  With
``--postgres auto`` a PostgreSQL cluster is created (once) and run under the
data folder, on 127.0.0.1, owned by the ``postgres`` system user when this
command runs as root.  Ctrl-C, SIGTERM or SIGHUP stops the nodes, then nginx,
then PostgreSQL, each within a bound.  If ``serve`` dies, the nodes and nginx
get SIGTERM from the kernel (their parent-death signal) and the watchdog of
previewer.serve.supervise stops PostgreSQL.  See docs/OPERATIONS.md, "Stopping" and
"Several Orthanc nodes".
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import supervise
from ..config import Config
from .orthanc import ORTHANC, SAMPLES_MARKER, import_samples, plugin_path, sample_files
from .supervise import consecutive_free_ports, free_port, port_is_free

__all__ = ["Balancer", "Cluster", "ClusterError", "LocalPostgres", "Node", "PostgresSettings",
           "consecutive_free_ports", "free_port", "node_configuration", "nginx_configuration",
           "parse_postgres_url", "port_is_free", "postgres_bin", "serve"]

PG_INDEX_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so")
PG_BINARIES = Path("/usr/lib/postgresql")
NGINX = Path("/usr/sbin/nginx")
NGINX_TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
#: The Debian packages a cluster needs (the Makefile installs them).
DEB_PACKAGES = ("postgresql", "orthanc-postgresql", "nginx")
DATABASE = "orthanc"
ROLE = "orthanc"


class ClusterError(supervise.ServeError):
    """A cluster cannot be set up (missing package, unreachable folder, failed start)."""


# --------------------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class PostgresSettings:
    """How Orthanc's PostgreSQL index plugin reaches the database."""

    host: str
    port: int
    database: str
    username: str
    password: str

    def orthanc_section(self, connections: int = 1) -> dict[str, Any]:
        """The "PostgreSQL" section of a node's configuration.

        ``Lock: false`` is what lets several Orthanc processes write to one
        index (orthanc-postgresql >= 4.0 retries conflicting transactions);
        with the default ``true`` the second node refuses to start.
        """
        return {"EnableIndex": True, "EnableStorage": False, "Host": self.host, "Port": self.port,
                "Database": self.database, "Username": self.username, "Password": self.password,
                "Lock": False, "IndexConnectionsCount": connections,
                "MaximumConnectionRetries": 20, "ConnectionRetryInterval": 1}


def parse_postgres_url(url: str) -> PostgresSettings:
    """``postgresql://user:password@host:port/database`` (or ``postgres://``) as settings."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise ClusterError(f"--postgres must be 'auto' or postgresql://user:password@host:port/database, not {url!r}")
    database = urllib.parse.unquote(parts.path.lstrip("/")) or DATABASE
    return PostgresSettings(host=parts.hostname, port=parts.port or 5432, database=database,
                            username=urllib.parse.unquote(parts.username or ROLE),
                            password=urllib.parse.unquote(parts.password or ""))


def postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (15 on bookworm)."""
    found = sorted((p for p in PG_BINARIES.glob("*/bin") if (p / "initdb").exists()),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not found:
        raise ClusterError("PostgreSQL is not installed: apt-get install postgresql (or run `make test-cluster`)")
    return found[-1]


class LocalPostgres:
    """A PostgreSQL cluster in ``folder`` (created on the first start), on 127.0.0.1:``port``.

    As root, the cluster belongs to the ``postgres`` system user and every
    PostgreSQL command runs through ``runuser -u postgres``: the server
    refuses to run as root.  Authentication is scram-sha-256 over TCP only
    (no Unix socket); the generated password is kept in ``folder/../postgres.password``.
    """

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.password_file = folder.parent / "postgres.password"
        self.bin = postgres_bin()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.running = False

    def _command(self, *args: str) -> list[str]:
        return (["runuser", "-u", self.user, "--"] if self.user else []) + list(args)

    def _run(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(self._command(*args), capture_output=True, text=True,
                                env={**os.environ, **(env or {})}, cwd="/")
        if result.returncode != 0:
            raise ClusterError(f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result.stdout

    def _password(self) -> str:
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
            self.password_file.chmod(0o600)
        return self.password_file.read_text().strip()

    @property
    def settings(self) -> PostgresSettings:
        return PostgresSettings("127.0.0.1", self.port, DATABASE, ROLE, self._password())

    def _own(self, path: Path) -> None:
        if self.user:
            shutil.chown(path, self.user, self.user)

    def initialise(self) -> bool:
        """Create the cluster, its role and database if needed; True if it was created now."""
        if (self.folder / "PG_VERSION").exists():
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        self._own(self.folder)
        if self.user and subprocess.run(self._command("test", "-w", str(self.folder))).returncode != 0:
            raise ClusterError(f"the '{self.user}' user cannot reach {self.folder}: every parent folder "
                               "needs o+x (for example, use a data folder under /srv or /tmp)")
        pwfile = self.folder.parent / "initdb.pw"
        pwfile.write_text(self._password() + "\n")
        pwfile.chmod(0o600)
        self._own(pwfile)
        try:
            self._run(str(self.bin / "initdb"), "-D", str(self.folder), "-U", "postgres", "-E", "UTF8",
                      "--locale=C", "--auth-local=reject", "--auth-host=scram-sha-256", f"--pwfile={pwfile}")
        except ClusterError:
            shutil.rmtree(self.folder, ignore_errors=True)   # the next start tries again from scratch
            raise
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.folder / "postgresql.conf", "a") as conf:
            conf.write("\n# previewer cluster: loopback TCP only\nlisten_addresses = '127.0.0.1'\n"
                       "unix_socket_directories = ''\nmax_connections = 200\nfsync = on\n")
        return True

    def start(self) -> None:
        created = self.initialise()
        log = self.folder.parent / "postgres.log"
        log.touch()
        self._own(log)
        # pg_ctl -w waits until the server accepts connections; its own session
        # keeps Ctrl-C in the terminal from reaching the server directly.
        result = subprocess.run(self._command(str(self.bin / "pg_ctl"), "-D", str(self.folder), "-l", str(log),
                                              "-o", f"-p {self.port}", "-w", "-t", "60", "start"),
                                capture_output=True, text=True, start_new_session=True, cwd="/")
        if result.returncode != 0:
            raise ClusterError(f"PostgreSQL did not start:\n{result.stderr}\n{log.read_text()[-3000:]}")
        self.running = True
        if created:
            secret = self._password().replace("'", "''")
            self.psql("postgres", f"CREATE ROLE {ROLE} LOGIN PASSWORD '{secret}'")
            self.psql("postgres", f"CREATE DATABASE {DATABASE} OWNER {ROLE} ENCODING 'UTF8'")

    def psql(self, database: str, sql: str) -> str:
        """Run one SQL command as the superuser, over TCP."""
        return self._run(str(self.bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                         "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql,
                         env={"PGPASSWORD": self._password()})

    def stop_commands(self, timeout: float = 30) -> list[list[str]]:
        """pg_ctl stop in fast mode within ``timeout`` s, then in immediate mode (for the watchdog)."""
        pg_ctl = str(self.bin / "pg_ctl")
        return [self._command(pg_ctl, "-D", str(self.folder), "-m", mode, "-w", "-t", str(max(1, int(timeout))),
                              "stop") for mode in ("fast", "immediate")]

    def stop(self, timeout: float = 30) -> bool:
        """Stop the server (fast, then immediate after ``timeout`` s); True if immediate was needed."""
        forced = False
        if self.running:
            fast, immediate = self.stop_commands(timeout)
            if subprocess.run(fast, capture_output=True, cwd="/").returncode != 0 and self._pid_file_alive():
                supervise.say(f"PostgreSQL did not stop within {timeout:g} s in fast mode; stopping it "
                              "in immediate mode")
                subprocess.run(immediate, capture_output=True, cwd="/")
                forced = True
            self.running = False
        return forced

    def _pid_file_alive(self) -> bool:
        try:
            pid = int((self.folder / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        return supervise.start_time(pid) is not None


# --------------------------------------------------------------------------- Orthanc nodes


def node_configuration(index: int, http_port: int, dicom_port: int, storage: Path, node_folder: Path,
                       postgres: PostgresSettings, plugin: Path,
                       previewer: dict[str, Any] | None = None, extra: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
    """The configuration of node ``index`` (0-based) of a cluster."""
    return {
        "Name": f"OrthancPreviewer-{index + 1}",
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "StorageDirectory": str(storage),          # shared by every node
        "IndexDirectory": str(node_folder),        # unused: the index is in PostgreSQL
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        # Jobs are saved in the shared index under one key: nodes would
        # overwrite each other's, so none is saved.
        "SaveJobs": False,
        "Plugins": [str(plugin), str(PG_INDEX_PLUGIN)],
        "PostgreSQL": postgres.orthanc_section(),
        "Previewer": previewer if previewer is not None else Config().section(),
        **(extra or {}),
    }


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/system", timeout=2):
            return True
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def _wait_answering(process: subprocess.Popen[bytes], url: str, what: str, log: Path, timeout: float) -> None:
    """Return once ``url`` answers; ClusterError with the log's end if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ClusterError(f"{what} exited with {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-3000:]}")
        if _up(url):
            return
        time.sleep(0.1)
    raise ClusterError(f"{what} did not answer within {timeout} s")


@dataclass
class Node:
    index: int
    http_port: int
    dicom_port: int
    folder: Path
    config: dict[str, Any]
    verbose: bool = False
    process: subprocess.Popen[bytes] | None = None
    keep_fds: tuple[int, ...] = ()
    forced: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.folder / "orthanc.log"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        config_file = self.folder / "orthanc.json"
        config_file.write_text(json.dumps(self.config, indent=2))
        arguments = [ORTHANC, *(["--verbose"] if self.verbose else []), str(config_file)]
        with open(self.log_path, "ab") as log:
            # SIGTERM when serve dies (parent-death signal); keep_fds: the folder lock.
            self.process = supervise.spawn(arguments, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                                           pass_fds=self.keep_fds)

    def wait_up(self, timeout: float = 90) -> None:
        assert self.process is not None
        _wait_answering(self.process, self.url, f"node {self.index + 1}", self.log_path, timeout)

    def stop(self, timeout: float = 30) -> int | None:
        """One SIGINT (Orthanc's clean shutdown), then SIGKILL after ``timeout``."""
        if self.process is None:
            return None
        code, killed = supervise.stop_process(self.process, f"node {self.index + 1}", signal.SIGINT, timeout)
        self.forced = self.forced or killed
        return code


# --------------------------------------------------------------------------- nginx


def nginx_configuration(prefix: Path, port: int, node_ports: list[int]) -> str:
    """The balancer's nginx.conf, from previewer/serve/nginx.conf.template."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in node_ports)
    user = "user www-data;" if os.geteuid() == 0 else ""
    text = NGINX_TEMPLATE.read_text()
    for marker, value in (("@PREFIX@", str(prefix)), ("@PORT@", str(port)), ("@SERVERS@", servers),
                          ("@USER@", user)):
        text = text.replace(marker, value)
    return text


@dataclass
class Balancer:
    folder: Path
    port: int
    node_ports: list[int]
    process: subprocess.Popen[bytes] | None = None
    forced: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> None:
        if not NGINX.exists():
            raise ClusterError("nginx is not installed: apt-get install nginx (or run `make test-cluster`)")
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            path = self.folder / "tmp" / sub
            path.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(path, "www-data", "www-data")
        config = self.folder / "nginx.conf"
        config.write_text(nginx_configuration(self.folder, self.port, self.node_ports))
        with open(self.folder / "nginx.out", "ab") as out:
            # SIGTERM (nginx's fast shutdown, workers included) when serve dies.
            self.process = supervise.spawn([str(NGINX), "-p", str(self.folder), "-e", str(self.folder / "error.log"),
                                            "-c", str(config)], stdout=out, stderr=subprocess.STDOUT)
        _wait_answering(self.process, self.url, f"nginx on port {self.port}", self.folder / "error.log", timeout)

    def stop(self, timeout: float = 10) -> None:
        """SIGQUIT (graceful: finish requests in flight), then SIGKILL after ``timeout``."""
        if self.process is not None:
            _, killed = supervise.stop_process(self.process, "nginx", signal.SIGQUIT, timeout)
            self.forced = self.forced or killed


# --------------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    """PostgreSQL (local or existing), N nodes and an optional nginx, under ``storage``."""

    storage: Path
    nodes_count: int
    http_port: int
    dicom_port: int
    postgres_url: str = "auto"
    postgres_port: int = 0
    balancer_port: int = 0
    previewer: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None
    verbose: bool = False
    stop_timeout: float = 30
    postgres: LocalPostgres | None = None
    settings: PostgresSettings | None = None
    nodes: list[Node] = field(default_factory=list)
    balancer: Balancer | None = None
    lock: int | None = None
    watchdog: supervise.Watchdog | None = None
    forced: bool = False
    _codes: list[int | None] = field(default_factory=list)

    def _ports(self) -> dict[int, str]:
        ports = {self.http_port + i: f"HTTP of node {i + 1}" for i in range(self.nodes_count)}
        ports.update({self.dicom_port + i: f"DICOM of node {i + 1}" for i in range(self.nodes_count)})
        ports.update({self.balancer_port: "nginx", self.postgres_port: "PostgreSQL"})
        return ports

    def start(self) -> Cluster:
        """Lock the folder, check the ports, start the watchdog, PostgreSQL, the nodes and nginx.

        Raises supervise.InUse for a folder or port in use, ClusterError for
        any other failure; on any exception, what was started is stopped.
        """
        if not PG_INDEX_PLUGIN.exists():
            raise ClusterError(f"{PG_INDEX_PLUGIN} is missing: apt-get install orthanc-postgresql")
        self.storage.mkdir(parents=True, exist_ok=True)
        self.lock = supervise.lock_folder(self.storage)
        try:
            supervise.check_ports(self._ports())
            # Holds the folder lock until what it was told about has stopped.
            self.watchdog = supervise.Watchdog(self.storage / "watchdog.log", (self.lock,), self.stop_timeout)
            if self.postgres_url == "auto":
                self.postgres = LocalPostgres(self.storage / "postgres", self.postgres_port)
                for command in self.postgres.stop_commands(self.stop_timeout):
                    self.watchdog.on_exit(command)
                self.postgres.start()
                self.settings = self.postgres.settings
            else:
                self.settings = parse_postgres_url(self.postgres_url)
            plugin = plugin_path()
            for i in range(self.nodes_count):
                folder = self.storage / f"node-{i + 1}"
                config = node_configuration(i, self.http_port + i, self.dicom_port + i, self.storage / "dicom",
                                            folder, self.settings, plugin, self.previewer, self.extra)
                self.nodes.append(Node(i, self.http_port + i, self.dicom_port + i, folder, config, self.verbose,
                                       keep_fds=(self.lock,)))
            # The first node creates the schema; the others then start together.
            self._start_node(self.nodes[0])
            self.nodes[0].wait_up()
            for node in self.nodes[1:]:
                self._start_node(node)
            for node in self.nodes[1:]:
                node.wait_up()
            if self.balancer_port:
                self.balancer = Balancer(self.storage / "nginx", self.balancer_port,
                                         [n.http_port for n in self.nodes])
                self.balancer.start()
                if self.balancer.process is not None and self.watchdog is not None:
                    self.watchdog.watch(self.balancer.process.pid)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def url(self) -> str:
        return self.balancer.url if self.balancer else self.nodes[0].url

    def failed_node(self) -> Node | None:
        return next((n for n in self.nodes if n.process is not None and n.process.poll() is not None), None)

    def _start_node(self, node: Node) -> None:
        node.start()
        if node.process is not None and self.watchdog is not None:
            self.watchdog.watch(node.process.pid)   # its parent-death signal stops it; the watchdog waits

    def stop(self) -> int:
        """Nodes first (clean Orthanc shutdown), then nginx, then PostgreSQL; the worst exit code.

        Each within ``stop_timeout`` s, then killed (``forced`` is then True).
        A second call returns the same code and stops nothing more.
        """
        self._codes = [*self._codes, *(n.stop(self.stop_timeout) for n in self.nodes)]
        if self.balancer is not None:
            self.balancer.stop(self.stop_timeout)
        postgres_forced = self.postgres.stop(self.stop_timeout) if self.postgres is not None else False
        self.forced = (self.forced or postgres_forced or any(n.forced for n in self.nodes)
                       or (self.balancer is not None and self.balancer.forced))
        if self.watchdog is not None:
            self.watchdog.clear()
            self.watchdog.close()
            self.watchdog = None
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None
        return max((abs(c) for c in self._codes if c is not None), default=0)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(storage: Path, nodes: int, http_port: int, dicom_port: int, postgres: str, postgres_port: int,
          balancer_port: int, samples: bool, stop_timeout: float = 30) -> int:
    """The foreground command behind ``previewer serve --nodes N --postgres ...``; a supervise.EXIT_* status.

    The caller has installed supervise.install_stop_handlers (SIGINT,
    SIGTERM and SIGHUP raise StopRequested); supervise.InUse propagates.
    """
    cluster = Cluster(storage.resolve(), nodes, http_port, dicom_port, postgres, postgres_port, balancer_port,
                      stop_timeout=stop_timeout)
    try:
        try:
            cluster.start()
        except supervise.InUse:
            raise
        except supervise.ServeError as error:
            supervise.say(str(error))
            return supervise.EXIT_FAILED
        marker = cluster.storage / SAMPLES_MARKER
        if samples and not marker.exists():
            import_samples(cluster.nodes[0].url, sample_files())
            marker.touch()
        where = f"PostgreSQL on 127.0.0.1:{cluster.settings.port}" if cluster.settings else ""
        for node in cluster.nodes:
            print(f"node {node.index + 1}: {node.url}/previewer/", flush=True)
        if cluster.balancer:
            print(f"nginx (round-robin): {cluster.balancer.url}/previewer/", flush=True)
        print(f"Orthanc Previewer cluster of {nodes} node(s), {where}, is running  (Ctrl-C stops it)", flush=True)
        while True:
            failed = cluster.failed_node()
            if failed is not None:
                supervise.say(f"node {failed.index + 1} exited with "
                              f"{failed.process.returncode if failed.process else '?'}; stopping the cluster "
                              f"(log: {failed.log_path})")
                cluster.stop()
                return supervise.EXIT_FAILED
            time.sleep(0.5)
    except supervise.StopRequested as stop:
        supervise.say(f"{stop} received; stopping the cluster")
        code = cluster.stop()
        if cluster.forced:
            return supervise.EXIT_FORCED
        return supervise.EXIT_FAILED if code else supervise.EXIT_STOPPED
