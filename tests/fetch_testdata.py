"""Fetch test data that registry packages ship, pinned by version and hash: ``make testdata`` runs it.

The Radiomics Digital Phantom (Lambin P., CancerData 2016, DOI 10.17195/candat.2016.08.1),
shipped in PyPI's ``pycerr`` 2.5.1 under ``cerr/datasets/radiomics_phantom_dicom/``: four real
CT series (41 to 60 axial slices, 3 mm apart) with an RT structure set each.  Its data licence
is CC BY-NC 3.0: it is downloaded for the tests here, never shipped with the plugin.

Anonymised Siemens MR geometry from PyPI's ``dcm-classifier`` 0.9.9 (Apache-2.0), its sdist's
``tests/testing_data/anonymized_testing_data/anonymized_data/``: series 14, 21 oblique axial slices
of 256x192, and series 10, 19 tilted sagittal slices of 320x320, in one study and one Frame of
Reference.  Their pixels are all zero (the package keeps only the headers' geometry): for tests of
planes and reference lines, not of image content.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "build" / "testdata"
WHEEL = "pycerr-2.5.1-py3-none-any.whl"
SHA256 = "5c3e82cc387538c5c38143827314fc2aa743ef886e8518f7f52beff6805c635d"
PREFIX = "cerr/datasets/radiomics_phantom_dicom/"
PHANTOM = TARGET / "radiomics_phantom_dicom"
CLASSIFIER_SDIST = "dcm_classifier-0.9.9.tar.gz"
CLASSIFIER_SHA256 = "7a18e352e48562996dd540bc8bc8cd07a7a878e64100a81b5b4b96d6e31668f3"
CLASSIFIER_PREFIX = "dcm_classifier-0.9.9/tests/testing_data/anonymized_testing_data/anonymized_data/"
CLASSIFIER_SERIES = ("10", "14")
CLASSIFIER = TARGET / "dcm_classifier"


def _download(requirement: str, name: str, sha256: str, binary: bool) -> Path | None:
    """The pinned archive, its hash checked; None (and a message) when it does not match."""
    path = TARGET / name
    if not path.exists():
        kind = ["--only-binary", ":all:"] if binary else ["--no-binary", ":all:"]
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", *kind, requirement,
                        "-d", str(TARGET)], check=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        path.unlink()
        print(f"{name}: sha256 {digest}, expected {sha256}", file=sys.stderr)
        return None
    return path


def _classifier() -> int:
    if (CLASSIFIER / ".complete").exists():
        return 0
    sdist = _download("dcm-classifier==0.9.9", CLASSIFIER_SDIST, CLASSIFIER_SHA256, binary=False)
    if sdist is None:
        return 1
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            rest = member.name.removeprefix(CLASSIFIER_PREFIX)
            if rest == member.name or not member.isfile() or rest.split("/")[0] not in CLASSIFIER_SERIES:
                continue
            path = CLASSIFIER / rest.split("/")[0] / Path(rest).name
            path.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            path.write_bytes(source.read())
    sdist.unlink()
    (CLASSIFIER / ".complete").touch()
    return 0


def _phantom() -> int:
    if (PHANTOM / ".complete").exists():
        return 0
    wheel = _download("pycerr==2.5.1", WHEEL, SHA256, binary=True)
    if wheel is None:
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


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    return _phantom() or _classifier()


if __name__ == "__main__":
    sys.exit(main())
