"""``previewer serve | plugin-path | config | install | uninstall``: run Orthanc with the plugin, or add it to one."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import install, supervise
from ..config import Config
from .orthanc import ORTHANC, SAMPLES_MARKER, LogRelay, import_samples, plugin_path, sample_files

def orthanc_configuration(http_port: int, dicom_port: int, storage: Path) -> dict[str, Any]:
    """The configuration ``serve`` runs Orthanc with."""
    return {
        "Name": "OrthancPreviewer",
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "StorageDirectory": str(storage / "db"),
        "IndexDirectory": str(storage / "db"),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [str(plugin_path())],
        "Previewer": Config().section(),
    }


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url + "/system", timeout=2):
                return True
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    return False


def _serve_one(storage: Path, http_port: int, dicom_port: int, samples: bool, stop_timeout: float) -> int:
    """One Orthanc in the foreground, stopped cleanly on SIGINT, SIGTERM or SIGHUP.

    Orthanc runs in a session of its own (Ctrl-C reaches only ``serve``,
    which forwards exactly one SIGINT: a second one would abort Orthanc's
    shutdown), with SIGTERM as its parent-death signal, and it inherits the
    folder lock, so the folder stays locked until Orthanc has exited.
    """
    storage.mkdir(parents=True, exist_ok=True)
    lock = supervise.lock_folder(storage)
    try:
        supervise.check_ports({http_port: "HTTP", dicom_port: "DICOM"})
        config_file = storage / "orthanc.json"
        config_file.write_text(json.dumps(orthanc_configuration(http_port, dicom_port, storage), indent=2))
        url = f"http://localhost:{http_port}"
        marker = storage / SAMPLES_MARKER
        importing = samples and not marker.exists()
        # Only a start that imports the samples relays Orthanc's output (start-up and import to
        # STORAGE/orthanc.log, the bar alone on the terminal); otherwise Orthanc writes to the terminal itself.
        piped = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT} if importing else {}
        process = supervise.spawn([ORTHANC, str(config_file)], cwd=storage, pass_fds=(lock,), **piped)
        log = LogRelay(process.stdout, storage / "orthanc.log") if process.stdout is not None else None
        if log is not None:
            log.to_file()
        try:
            if not _wait_until_up(url, process):
                code, _ = supervise.stop_process(process, "Orthanc", signal.SIGINT, stop_timeout)
                if log is not None:
                    log.join()
                    supervise.say(f"Orthanc did not start; its log is {storage / 'orthanc.log'}")
                return code or supervise.EXIT_FAILED
            if log is not None:
                supervise.say(f"importing the samples; Orthanc's log meanwhile goes to {storage / 'orthanc.log'}")
                import_samples(url, sample_files(), log)
                marker.touch()
                log.to_terminal()
            print(f"Orthanc Previewer is running at {url}/previewer/  (Ctrl-C stops it)", flush=True)
            code = process.wait()
            if log is not None:
                log.join()
            supervise.say(f"Orthanc exited by itself with status {code}")
            return supervise.EXIT_FAILED if code else supervise.EXIT_STOPPED
        except supervise.StopRequested as stop:
            supervise.say(f"{stop} received; stopping Orthanc (PID {process.pid})")
            code, killed = supervise.stop_process(process, "Orthanc", signal.SIGINT, stop_timeout)
            if log is not None:
                log.join()
            if killed:
                return supervise.EXIT_FORCED
            return supervise.EXIT_FAILED if code else supervise.EXIT_STOPPED
    finally:
        os.close(lock)


def serve(args: argparse.Namespace) -> int:
    """``previewer serve``: the exit status is one of supervise.EXIT_* (docs/OPERATIONS.md, "Stopping")."""
    previous = supervise.install_stop_handlers()
    try:
        if args.nodes > 1 or args.postgres is not None:
            if args.nodes < 1:
                print("previewer: --nodes must be at least 1", file=sys.stderr)
                return supervise.EXIT_USAGE
            from . import cluster

            balancer = args.balancer_port if args.balancer_port is not None else (8080 if args.nodes > 1 else 0)
            return cluster.serve(Path(args.storage), args.nodes, args.http_port, args.dicom_port,
                                 args.postgres or "auto", args.postgres_port, balancer, not args.no_samples,
                                 args.stop_timeout)
        return _serve_one(Path(args.storage).resolve(), args.http_port, args.dicom_port, not args.no_samples,
                          args.stop_timeout)
    except supervise.InUse as error:
        supervise.say(str(error))
        return supervise.EXIT_IN_USE
    except supervise.StopRequested as stop:
        supervise.say(f"{stop} received before Orthanc started; nothing to stop")
        return supervise.EXIT_STOPPED
    finally:
        supervise.restore_handlers(previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="previewer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run Orthanc with the plugin in the foreground")
    run.add_argument("--http-port", type=int, default=8042)
    run.add_argument("--dicom-port", type=int, default=4242)
    run.add_argument("--storage", default=os.path.join(os.getcwd(), "previewer-data"),
                     help="folder for Orthanc's database and configuration")
    run.add_argument("--no-samples", action="store_true", help="do not import the sample images")
    run.add_argument("--nodes", type=int, default=1,
                     help="run N Orthanc nodes on consecutive ports from --http-port/--dicom-port, sharing a "
                          "PostgreSQL index and the storage folder (N > 1 implies --postgres auto)")
    run.add_argument("--postgres", metavar="URL|auto",
                     help="index in PostgreSQL: postgresql://user:password@host:port/database, or 'auto' for "
                          "a local cluster created under --storage (see docs/OPERATIONS.md)")
    run.add_argument("--postgres-port", type=int, default=0,
                     help="port of the 'auto' PostgreSQL on 127.0.0.1 (default: a free port)")
    run.add_argument("--balancer-port", type=int, default=None,
                     help="port of the round-robin nginx on 127.0.0.1 (default 8080 with --nodes > 1; 0: none)")
    run.add_argument("--stop-timeout", type=float, default=30, metavar="SECONDS",
                     help="on SIGINT, SIGTERM or SIGHUP, how long each process may take to stop before "
                          "it is killed (default 30)")
    commands.add_parser("plugin-path", help="print the path of the plugin, building it if needed")
    commands.add_parser("config", help="print the JSON to add to an existing Orthanc's configuration")
    install.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in install.COMMANDS:
        return install.run(args)
    if args.command == "serve":
        return serve(args)
    if args.command == "plugin-path":
        print(plugin_path())
        return 0
    print(json.dumps({"Plugins": [str(plugin_path())], "Previewer": Config().section()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
