"""The previewer beside Debian's orthanc-python plugin, in one real Orthanc (native/entry.c)."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image

from conftest import CT_SMALL, MR_SMALL, RGB_FILE
from orthanc_process import PLUGIN, ROOT, OrthancProcess

DEBIAN_PLUGINS = Path("/usr/share/orthanc/plugins")
PYTHON_PLUGIN = DEBIAN_PLUGINS / "libOrthancPython.so"
#: The other plugins users load beside ours (their Debian packages).
NEIGHBOURS = [DEBIAN_PLUGINS / name for name in
              ("libOrthancDicomWeb.so", "libOrthancWebViewer.so", "libOrthancGdcm.so")]
ORDERS = ("python-first", "previewer-first")

# The Python plugin's script: one route that reports what its code can see.
SCRIPT = '''
import importlib.util, json, sys
import orthanc

def hello(output, uri, **request):
    seen = {name: importlib.util.find_spec(name) is not None for name in NAMES}
    output.AnswerBuffer(json.dumps({"python": sys.version, "sees": seen}), "application/json")

def anonymize(output, uri, **request):
    # The script waits in the SDK with the GIL held while a job thread stores
    # the new instances (and Orthanc calls the previewer's stored callback).
    answer = orthanc.RestApiPost("/studies/%%s/anonymize" %% request["groups"][0], "{}")
    output.AnswerBuffer(answer, "application/json")

NAMES = %r
orthanc.RegisterRestCallback("/hello", hello)
orthanc.RegisterRestCallback("/anonymize/(.*)", anonymize)
'''
#: Modules of our virtualenv that the previewer never imports at run time:
#: the other plugin's code must not find them.
VENV_ONLY = ["hypothesis", "pytest", "dicomweb_client"]

pytestmark = [pytest.mark.skipif(not PYTHON_PLUGIN.exists(), reason="Debian's orthanc-python is not installed"),
              pytest.mark.slow]


def _plugins(order: str, previewer: Path = PLUGIN) -> list[str]:
    pair = [str(PYTHON_PLUGIN), str(previewer)]
    return [*(pair if order == "python-first" else pair[::-1]), *map(str, NEIGHBOURS)]


def _script_folder(folder: Path) -> Path:
    """The Python plugin's script, beside a decoy pydicom.py that must not shadow ours."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello.py").write_text(SCRIPT % (VENV_ONLY,))
    (folder / "pydicom.py").write_text("raise ImportError('the decoy pydicom beside the script was imported')\n")
    return folder / "hello.py"


def _orthanc(folder: Path, plugins: list[str], **kwargs: Any) -> OrthancProcess:
    return OrthancProcess(folder, plugins=plugins, probe=False,
                          extra={"PythonScript": str(_script_folder(folder / "script"))}, **kwargs)


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def _upload_all(orthanc: OrthancProcess) -> dict[str, str]:
    return {name: str(orthanc.upload(path)["ID"]) for name, path in
            (("ct", CT_SMALL), ("mr", MR_SMALL), ("rgb", RGB_FILE))}


def _routes(ids: dict[str, str], orthanc: OrthancProcess) -> list[str]:
    """A sample of every kind of previewer route, errors included."""
    ct = ids["ct"]
    tags = orthanc.get(f"/instances/{ct}/tags?simplify").json()
    study, series = orthanc.get(f"/instances/{ct}/study").json()["ID"], orthanc.get(f"/instances/{ct}/series").json()["ID"]
    web = (f"/previewer/dicom-web/studies/{tags['StudyInstanceUID']}/series/{tags['SeriesInstanceUID']}"
           f"/instances/{tags['SOPInstanceUID']}")
    return [
        "/previewer/", "/previewer/index.html", "/previewer/viewer.js",
        *(f"/previewer/instances/{i}/png" for i in ids.values()),
        f"/previewer/instances/{ct}/frames/0/png?window=40,400",
        f"/previewer/instances/{ct}/frames/0/png?format=signed16",
        f"/previewer/instances/{ct}/png?size=64",
        f"/previewer/instances/{ct}/info",
        f"/previewer/instances/{ids['mr']}/info",
        "/previewer/api/studies", f"/previewer/api/studies/{study}", f"/previewer/api/series/{series}",
        f"/previewer/api/instances/{ct}/tags",
        web + "/rendered", web + "/thumbnail",
        f"/previewer/open?StudyInstanceUID={tags['StudyInstanceUID']}",
        "/previewer/instances/0000000a-0000000b-0000000c-0000000d-0000000e/png",
        f"/previewer/instances/{ct}/frames/7/png", f"/previewer/instances/{ct}/png?window=abc",
        "/previewer/no-such-file.js",
    ]


def _answers(orthanc: OrthancProcess, routes: list[str]) -> dict[str, tuple[int, str, bytes]]:
    answers = {}
    for route in routes:
        answer = orthanc.http.get(orthanc.url + route, timeout=60, allow_redirects=False)
        answers[route] = (answer.status_code, answer.headers.get("Content-Type", ""), answer.content)
    return answers


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[int, str, bytes]]]:
    """The answers of an Orthanc with the previewer alone, for the sample routes."""
    with OrthancProcess(tmp_path_factory.mktemp("alone"), probe=False) as orthanc:
        ids = _upload_all(orthanc)
        yield _answers(orthanc, _routes(ids, orthanc))


@pytest.fixture(scope="module", params=ORDERS)
def together(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancProcess]:
    """An Orthanc with orthanc-python, DICOMweb, Web Viewer, GDCM and the previewer (answering the core
    image routes), in either order."""
    orthanc = _orthanc(tmp_path_factory.mktemp(request.param), _plugins(request.param),
                       previewer={"CoreRoutes": True})
    orthanc.start()
    orthanc.ids = _upload_all(orthanc)  # type: ignore[attr-defined]
    yield orthanc
    orthanc.stop()


class TestBothPlugins:
    def test_core_routes_are_ours(self, together: OrthancProcess) -> None:
        """With "CoreRoutes", /preview and /frames/0/rendered answer the previewer's PNG in either load order."""
        for instance in together.ids.values():  # type: ignore[attr-defined]
            ours = together.get(f"/previewer/instances/{instance}/png")
            assert ours.status_code == 200, ours.text
            for path in (f"/instances/{instance}/preview", f"/instances/{instance}/frames/0/rendered"):
                answer = together.get(path)
                assert answer.status_code == 200, answer.text
                assert np.array_equal(_pixels(answer.content), _pixels(ours.content)), path
        assert together.get("/dicom-web/studies").status_code == 200, "DICOMweb answers beside them"

    def test_python_route_answers(self, together: OrthancProcess) -> None:
        """The Python plugin's own route answers, with Debian's Python."""
        answer = together.get("/hello")
        assert answer.status_code == 200, answer.text
        assert answer.json()["python"].split()[0] == sys.version.split()[0]

    def test_python_code_does_not_see_our_virtualenv(self, together: OrthancProcess) -> None:
        """Modules only in the previewer's virtualenv stay invisible to the Python plugin's script."""
        assert together.get("/hello").json()["sees"] == {name: False for name in VENV_ONLY}

    def test_previewer_routes_answer_as_alone(self, together: OrthancProcess,
                                              alone: dict[str, tuple[int, str, bytes]]) -> None:
        """Every sampled previewer route answers the same status, type and bytes as with the previewer alone."""
        answers = _answers(together, _routes(together.ids, together))  # type: ignore[attr-defined]
        assert answers.keys() == alone.keys()
        different = [route for route in answers if answers[route] != alone[route]]
        assert not different, {route: (answers[route][:2], alone[route][:2]) for route in different}
        assert {status for status, _, _ in answers.values()} >= {200, 400, 404}

    def test_render_under_load_beside_python_route(self, together: OrthancProcess,
                                                   alone: dict[str, tuple[int, str, bytes]]) -> None:
        """Parallel renders stay byte-identical while the Python plugin's route is called in parallel too."""
        ct = together.ids["ct"]  # type: ignore[attr-defined]
        windows = [f"/previewer/instances/{ct}/frames/0/png?window={c},{w}"
                   for c in range(-200, 300, 50) for w in (100, 400, 1500)]
        reference = {path: together.get(path).content for path in windows}
        failures: list[str] = []
        stop = time.monotonic() + 8

        def render(index: int) -> int:
            count, http = 0, requests.Session()
            while time.monotonic() < stop:
                path = windows[(index + count) % len(windows)]
                answer = http.get(together.url + path, timeout=60)
                if answer.status_code != 200 or answer.content != reference[path]:
                    failures.append(f"{path}: {answer.status_code}")
                count += 1
            return count

        def hello() -> int:
            count, http = 0, requests.Session()
            while time.monotonic() < stop:
                answer = http.get(together.url + "/hello", timeout=60)
                if answer.status_code != 200:
                    failures.append(f"/hello: {answer.status_code}")
                count += 1
            return count

        with ThreadPoolExecutor(6) as pool:
            rendering = [pool.submit(render, i) for i in range(4)]
            greeting = [pool.submit(hello) for _ in range(2)]
            renders, calls = [f.result() for f in rendering], [f.result() for f in greeting]
        assert not failures, failures[:5]
        assert sum(renders) > 20 and sum(calls) > 20, (renders, calls)
        assert alone[f"/previewer/instances/{ct}/frames/0/png?window=40,400"][2] == \
            together.get(f"/previewer/instances/{ct}/frames/0/png?window=40,400").content

    def test_script_storing_through_the_sdk_does_not_deadlock(self, together: OrthancProcess) -> None:
        """(Last: it adds a study.) A script's synchronous /anonymize (new instances stored while it holds the GIL) answers, and they render."""
        ct = together.ids["ct"]  # type: ignore[attr-defined]
        study = together.get(f"/instances/{ct}/study").json()["ID"]
        answer = together.http.get(together.url + f"/anonymize/{study}", timeout=60)
        assert answer.status_code == 200, answer.text
        new_study = answer.json()["ID"]
        new_instance = together.get(f"/studies/{new_study}/instances").json()[0]["ID"]
        assert together.get(f"/previewer/instances/{new_instance}/png").status_code == 200


@pytest.mark.parametrize("order", ORDERS)
def test_clean_shutdown(tmp_path: Path, order: str) -> None:
    """SIGTERM stops Orthanc with status 0 and no crash in its log, in either load order."""
    orthanc = _orthanc(tmp_path, _plugins(order))
    orthanc.start()
    assert orthanc.get(f"/previewer/instances/{orthanc.upload(CT_SMALL)['ID']}/png").status_code == 200
    assert orthanc.get("/hello").status_code == 200
    assert orthanc.stop() == 0
    log = orthanc.log()
    assert "Orthanc has stopped" in log
    assert ("Orthanc Previewer: joined the Python that another plugin started" if order == "python-first"
            else "Orthanc Previewer: started in the Python of the other plugin") in log
    for sign in ("Fatal Python error", "Segmentation fault", "Aborted", "core dumped", "Traceback"):
        assert sign not in log, sign


# --- when the two cannot share one Python -------------------------------------

def _pyenv_python(version: str) -> Path | None:
    """A pyenv CPython of ``version`` built with a shared libpython, if this machine has one."""
    for candidate in sorted(Path(os.environ.get("PYENV_ROOT", "/root/.pyenv"), "versions").glob(version + ".*")):
        python = candidate / "bin" / "python3"
        if python.exists() and subprocess.run(
                [python, "-c", "import sysconfig, sys; sys.exit(not sysconfig.get_config_var('Py_ENABLE_SHARED'))"],
                capture_output=True).returncode == 0:
            return python
    return None


def _foreign_plugin(folder: Path, python: Path) -> Path:
    """libOrthancPreviewer.so built by another Python (a venv of ``python`` with cffi)."""
    venv = folder / "venv"
    subprocess.run([python, "-m", "venv", venv], check=True)
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", "cffi", "setuptools"], check=True)
    out = subprocess.run([venv / "bin" / "python", ROOT / "native" / "build.py", folder / "build"],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


_MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"
FOREIGN = {  # another build of this Python's minor version, and another minor version
    "same-minor-other-build": _MINOR,
    "other-minor": "3.12" if _MINOR != "3.12" else "3.11",
}


@pytest.fixture(scope="module", params=sorted(FOREIGN))
def foreign_plugin(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The previewer built by a Python that is not the one Debian's orthanc-python loads."""
    python = _pyenv_python(FOREIGN[request.param])
    if python is None:
        pytest.skip(f"no pyenv Python {FOREIGN[request.param]} with a shared libpython on this machine")
    return python, _foreign_plugin(tmp_path_factory.mktemp(request.param), python)


@pytest.mark.parametrize("order", ORDERS)
def test_other_python_is_refused_in_one_line(tmp_path: Path, order: str, foreign_plugin: tuple[Path, Path]) -> None:
    """A previewer built by another Python refuses to load in one log line naming both; Orthanc stops, no crash."""
    python, plugin = foreign_plugin
    theirs = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                            capture_output=True, text=True, check=True).stdout.strip()
    orthanc = _orthanc(tmp_path, _plugins(order, plugin))
    started = time.monotonic()
    orthanc.start(expect_failure=True)
    assert orthanc.wait_exit(30) not in (0, None)
    assert time.monotonic() - started < 30
    log = orthanc.log()
    refusals = [line for line in log.splitlines() if "Orthanc Previewer: refusing to load" in line]
    assert len(refusals) == 1, log[-3000:]
    debian = f"libpython{sys.version_info.major}.{sys.version_info.minor}"
    assert theirs in refusals[0] and debian in refusals[0], refusals[0]
    assert f"make PYTHON=/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}" in refusals[0]
    for sign in ("Fatal Python error", "Segmentation fault", "core dumped"):
        assert sign not in log, sign


@pytest.mark.parametrize("order", ORDERS)
def test_invalid_configuration_stops_orthanc(tmp_path: Path, order: str) -> None:
    """An invalid "Previewer" value stops Orthanc in either order (when deferred, right after it started)."""
    orthanc = _orthanc(tmp_path, _plugins(order), previewer={"CacheSizeMB": "lots"})
    try:
        orthanc.start(timeout=30)
    except RuntimeError:
        pass   # it exited before answering, as when the previewer is alone
    status = orthanc.wait_exit(30)
    log = orthanc.log()
    assert "invalid configuration" in log and "CacheSizeMB" in log, log[-3000:]
    if order == "previewer-first":
        assert "stopping Orthanc, since the previewer could not start" in log
    else:
        assert status != 0
    for sign in ("Fatal Python error", "Segmentation fault", "core dumped"):
        assert sign not in log, sign


@pytest.mark.parametrize("order", ORDERS)
def test_python_plugin_without_script(tmp_path: Path, order: str) -> None:
    """With orthanc-python given no script (so no interpreter), the previewer starts its own.

    Loaded after that plugin it starts at once (as alone); loaded before it, it waits for Orthanc's start.
    """
    with OrthancProcess(tmp_path, plugins=_plugins(order), probe=False) as orthanc:
        assert orthanc.get(f"/previewer/instances/{orthanc.upload(CT_SMALL)['ID']}/png").status_code == 200
        log = orthanc.log()
    assert "Python plugin is initializing" in log
    if order == "python-first":
        assert "needs Python too" not in log and "joined" not in log
    else:
        assert "Orthanc Previewer: started in its own Python" in log
