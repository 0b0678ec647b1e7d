"""Shared fixtures: a real Orthanc process with the plugin, and corpus files."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from orthanc_process import PLUGIN, OrthancProcess

CT_SMALL = Path(get_testdata_file("CT_small.dcm"))
MR_SMALL = Path(get_testdata_file("MR_small.dcm"))
RGB_FILE = Path(get_testdata_file("SC_rgb.dcm"))
MULTIFRAME_RGB = Path(get_testdata_file("SC_rgb_2frame.dcm"))


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
