"""Fetch test data that registry packages ship, pinned by version and hash: ``make testdata`` runs it.

The Radiomics Digital Phantom (Lambin P., CancerData 2016, DOI 10.17195/candat.2016.08.1),
shipped in PyPI's ``pycerr`` 2.5.1 under ``cerr/datasets/radiomics_phantom_dicom/``: four real
CT series (41 to 60 axial slices, 3 mm apart) with an RT structure set each.  Its data licence
is CC BY-NC 3.0: it is downloaded for the tests here, never shipped with the plugin.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "build" / "testdata"
WHEEL = "pycerr-2.5.1-py3-none-any.whl"
SHA256 = "5c3e82cc387538c5c38143827314fc2aa743ef886e8518f7f52beff6805c635d"
PREFIX = "cerr/datasets/radiomics_phantom_dicom/"
PHANTOM = TARGET / "radiomics_phantom_dicom"


def main() -> int:
    if (PHANTOM / ".complete").exists():
        return 0
    TARGET.mkdir(parents=True, exist_ok=True)
    wheel = TARGET / WHEEL
    if not wheel.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                        "pycerr==2.5.1", "-d", str(TARGET)], check=True)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != SHA256:
        wheel.unlink()
        print(f"{WHEEL}: sha256 {digest}, expected {SHA256}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(PREFIX) and not name.endswith("/"):
                path = PHANTOM / name[len(PREFIX):]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(archive.read(name))
    wheel.unlink()   # 26 MB, of which the tests use 13
    (PHANTOM / ".complete").touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
