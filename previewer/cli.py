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

from . import install
from .config import Config

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "build" / "libOrthancPreviewer.so"
ORTHANC = "/usr/sbin/Orthanc"
SAMPLES_MARKER = "samples-imported"


def plugin_path(build: bool = True) -> Path:
    """The built plugin, building it first if it is missing."""
    if not PLUGIN.exists() and build:
        subprocess.run([sys.executable, str(ROOT / "native" / "build.py"), str(PLUGIN.parent)],
                       check=True, stdout=subprocess.DEVNULL)
    return PLUGIN


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


def sample_files() -> list[Path]:
    """The sample images: pydicom's, pydicom-data's, and shared/dicom/extra when present."""
    import pydicom.data

    folders = [Path(pydicom.data.__file__).parent / "test_files", ROOT.parent / "shared" / "dicom" / "extra"]
    try:
        import data_store  # pydicom-data

        folders.append(Path(data_store.__file__).parent / "data")
    except ImportError:
        pass
    return sorted(path for folder in folders if folder.is_dir() for path in folder.rglob("*") if _is_dicom(path))


def _is_dicom(path: Path) -> bool:
    """A file with the .dcm suffix, or with the DICM marker of a Part 10 file (DICOMDIRs excluded)."""
    if not path.is_file() or path.name == "DICOMDIR":
        return False
    if path.suffix == ".dcm":
        return True
    with open(path, "rb") as handle:
        return handle.read(132)[128:] == b"DICM"


def _progress(done: int, total: int, width: int = 40) -> None:
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\rImporting samples [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def import_samples(url: str, files: Sequence[Path]) -> tuple[int, int]:
    """POST each file to Orthanc's /instances with a progress bar; (stored, refused)."""
    stored = refused = 0
    for index, path in enumerate(files, 1):
        request = urllib.request.Request(url + "/instances", data=path.read_bytes(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=120):
                stored += 1
        except urllib.error.HTTPError:
            refused += 1
        _progress(index, len(files))
    sys.stderr.write(f"\n{stored} sample files stored, {refused} refused by Orthanc\n")
    return stored, refused


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url + "/system", timeout=2):
                return True
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    return False


def serve(args: argparse.Namespace) -> int:
    if args.nodes > 1 or args.postgres is not None:
        if args.nodes < 1:
            print("previewer: --nodes must be at least 1", file=sys.stderr)
            return 2
        from . import cluster

        balancer = args.balancer_port if args.balancer_port is not None else (8080 if args.nodes > 1 else 0)
        return cluster.serve(Path(args.storage), args.nodes, args.http_port, args.dicom_port,
                             args.postgres or "auto", args.postgres_port, balancer, not args.no_samples)
    storage = Path(args.storage).resolve()
    storage.mkdir(parents=True, exist_ok=True)
    config_file = storage / "orthanc.json"
    config_file.write_text(json.dumps(orthanc_configuration(args.http_port, args.dicom_port, storage), indent=2))
    url = f"http://localhost:{args.http_port}"
    # Orthanc gets its own session: Ctrl-C reaches only this command, which
    # then forwards exactly one SIGINT (a second one would abort Orthanc's shutdown).
    process = subprocess.Popen([ORTHANC, str(config_file)], cwd=storage, start_new_session=True)
    try:
        if not _wait_until_up(url, process):
            process.terminate()
            return process.wait() or 1
        marker = storage / SAMPLES_MARKER
        if not args.no_samples and not marker.exists():
            import_samples(url, sample_files())
            marker.touch()
        print(f"Orthanc Previewer is running at {url}/previewer/  (Ctrl-C stops it)", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        return process.wait()


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
                          "a local cluster created under --storage (see docs/CLUSTER.md)")
    run.add_argument("--postgres-port", type=int, default=0,
                     help="port of the 'auto' PostgreSQL on 127.0.0.1 (default: a free port)")
    run.add_argument("--balancer-port", type=int, default=None,
                     help="port of the round-robin nginx on 127.0.0.1 (default 8080 with --nodes > 1; 0: none)")
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
