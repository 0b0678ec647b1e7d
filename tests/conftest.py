"""Shared fixtures: a real Orthanc process with the plugin, and corpus files; the external tools.

`make test` installs every tool the suite uses (`make setup`: Debian's dcmtk, dicom3tools and
chromium, and Playwright in .venv), so a missing one fails the tests that need it, naming what
installs it; it never skips them.
"""
from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from orthanc_process import PLUGIN, OrthancProcess

CT_SMALL = Path(get_testdata_file("CT_small.dcm"))
MR_SMALL = Path(get_testdata_file("MR_small.dcm"))
RGB_FILE = Path(get_testdata_file("SC_rgb.dcm"))
MULTIFRAME_RGB = Path(get_testdata_file("SC_rgb_2frame.dcm"))
#: Debian's Chromium, which the browser tests drive through Playwright.
CHROMIUM = "/usr/bin/chromium"
_INSTALLED_BY = "`make setup` installs (`make test` runs it)"


def tool(name: str, package: str) -> str:
    """The path of the command ``name`` from Debian's ``package``; the test fails when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: it comes with Debian's {package}, which {_INSTALLED_BY}", pytrace=False)
    return path


def chromium() -> str:
    """:data:`CHROMIUM`; the test fails when it is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: it is Debian's chromium, which {_INSTALLED_BY}", pytrace=False)
    return CHROMIUM


def sync_playwright() -> Any:
    """Playwright's ``sync_playwright()`` context manager; the test fails when Playwright is missing."""
    try:
        api = importlib.import_module("playwright.sync_api")
    except ImportError as error:
        pytest.fail(f"Playwright is missing ({error}): it is in the project's [test] extra, which "
                    f"{_INSTALLED_BY} into .venv", pytrace=False)
    return api.sync_playwright()


@pytest.fixture(scope="session")
def plugin_path() -> Path:
    """The built plugin (``make build`` creates it)."""
    if not PLUGIN.exists():
        pytest.fail(f"{PLUGIN} is missing: run `make build` first")
    return PLUGIN


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory, plugin_path: Path) -> Iterator[OrthancProcess]:
    """One Orthanc with the previewer and the SDK probe, for the whole session."""
    process = OrthancProcess(tmp_path_factory.mktemp("orthanc"))
    process.start()
    yield process
    process.stop()


def replacing_orthanc(factory: pytest.TempPathFactory, name: str) -> Iterator[OrthancProcess]:
    """For a module fixture: an Orthanc with the plugin that replaces instances (corpus files and
    the object makers reuse SOP Instance UIDs), without warm-up or the SDK probe."""
    process = OrthancProcess(factory.mktemp(name), probe=False,
                             extra={"OverwriteInstances": True}, previewer={"WarmOnIngest": False})
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def ct_id(orthanc: OrthancProcess) -> str:
    """CT_small.dcm uploaded to the session's Orthanc."""
    return str(orthanc.upload(CT_SMALL)["ID"])


@pytest.fixture(scope="session")
def rgb_id(orthanc: OrthancProcess) -> str:
    """SC_rgb.dcm uploaded to the session's Orthanc."""
    return str(orthanc.upload(RGB_FILE)["ID"])


#: Fixtures that start Orthanc, a browser or other processes: the tests that use them are slow.
_SLOW_FIXTURES = {"plugin_path"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that needs the built plugin (hence an Orthanc), so ``-m "not slow"`` skips them."""
    for item in items:
        if _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
