"""What ``serve`` and the cluster share: the Orthanc binary, the built plugin and the sample images.

Both ``serve.cli`` and ``serve.cluster`` import from here (and from
``serve.supervise``); neither imports the other's helpers, so imports
flow one way: cli -> cluster -> orthanc, supervise.
"""
from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PLUGIN = ROOT / "build" / "libOrthancPreviewer.so"
ORTHANC = "/usr/sbin/Orthanc"
SAMPLES_MARKER = "samples-imported"


def plugin_path(build: bool = True) -> Path:
    """The built plugin, building it first if it is missing."""
    if not PLUGIN.exists() and build:
        subprocess.run([sys.executable, str(ROOT / "native" / "build.py"), str(PLUGIN.parent)],
                       check=True, stdout=subprocess.DEVNULL)
    return PLUGIN


def sample_files() -> list[Path]:
    """The sample images: pydicom's, pydicom-data's, and shared/dicom/extra when present (PS3.10 files)."""
    import pydicom.data

    folders = [Path(pydicom.data.__file__).parent / "test_files", ROOT.parent / "shared" / "dicom" / "extra"]
    try:
        import data_store  # pydicom-data

        folders.append(Path(data_store.__file__).parent / "data")
    except ImportError:
        pass
    return sorted(path for folder in folders if folder.is_dir() for path in folder.rglob("*") if _is_dicom(path))


def _is_dicom(path: Path) -> bool:
    """A file with the .dcm suffix, or with the DICM marker of a PS3.10 7.1 file (DICOMDIRs excluded)."""
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
