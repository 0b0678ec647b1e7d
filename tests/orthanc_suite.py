"""Orthanc's own integration suite (orthanc-tests, tag Orthanc-1.10.1) with the previewer, "CoreRoutes" off and on.

``make test-orthanc-suite`` runs it: the suite's tests run against an Orthanc
that loads the previewer, once as users get it and once with "CoreRoutes":
true, each time beside the ancillary Orthanc the suite talks DICOM and HTTP
to.  The outcome of every test goes to ``test-artifacts/orthanc-suite/``,
and ``docs/CORE_ROUTES.md`` lists the tests whose outcome the option
changes, each with its reason (:data:`REASONS`); a changed test without a
reason fails the run.

The suite is not ours and not on PyPI or in Debian: it is read from a git
mirror of orthanc-tests (``ORTHANC_TESTS_REPO``), at the tag of the Orthanc
under test.  Blobs the mirror lacks are left out and listed; tests that need
them fail the same way in both runs.  Its two Python 2 ``print`` statements
are rewritten as calls so that Python 3 runs it; nothing else is changed.

Ports are free ones (never 8042 or 4242): the suite's configuration is
generated here with the settings its GenerateConfigurationForTests.py and
Run.py apply, pointing at those ports.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from orthanc_process import ORTHANC, ROOT, OrthancProcess, free_port

TAG = "Orthanc-1.10.1"
MIRROR = Path(os.environ.get("ORTHANC_TESTS_REPO", "/work/.mirror/orthanc-mirrors+orthanc-tests/repo"))
SUITE = ROOT / "build" / "orthanc-tests"
ARTIFACTS = ROOT / "test-artifacts" / "orthanc-suite"
REPORT = ROOT / "docs" / "CORE_ROUTES.md"
USER, PASSWORD = "alice", "orthanctest"

#: Why a test's outcome changes with "CoreRoutes" (test id -> reason).  The run fails on a change not listed.
REASONS: dict[str, str] = {
    "Tests.Orthanc.test_decode_transfer_syntax":
        "compares the MD5 of core's /preview PNG for each transfer syntax; the previewer windows by the "
        "standard (stored window, else its percentile auto window) where core stretches min to max, so the bytes differ",
    "Tests.Orthanc.test_dicom_seg":
        "expects a Segmentation frame without any segment pixel to be black; the previewer renders a constant "
        "frame mid grey (its documented auto window for a constant image), where core's min-max stretch gives 0",
    "Tests.Orthanc.test_googlecode_issue_19":
        "expects /preview of Issue19.dcm (YBR_FULL) to fail, as core 1.10.1 cannot render it; the previewer renders it",
}


def extract() -> list[str]:
    """The suite's files at :data:`TAG` under build/orthanc-tests; the paths the mirror lacks."""
    if not (MIRROR / "HEAD").exists() and not (MIRROR / ".git").exists():
        raise SystemExit(f"no orthanc-tests mirror at {MIRROR}: set ORTHANC_TESTS_REPO to a clone of "
                         "https://orthanc.uclouvain.be/hg/orthanc-tests (or its GitHub mirror)")
    listing = subprocess.run(["git", "-C", str(MIRROR), "ls-tree", "-r", TAG], check=True,
                             capture_output=True, text=True).stdout
    missing = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        _, kind, sha = meta.split()
        if kind != "blob":
            continue
        target = SUITE / path
        target.parent.mkdir(parents=True, exist_ok=True)
        blob = subprocess.run(["git", "-C", str(MIRROR), "cat-file", "blob", sha], capture_output=True)
        if blob.returncode != 0:
            missing.append(path)
            continue
        target.write_bytes(blob.stdout)
    for name in ("Tests/Run.py", "Tests/Tests.py"):
        source = SUITE / name
        source.write_text(re.sub(r'^(\s*)print "(.*)"\s*$', r'\1print("\2")', source.read_text(), flags=re.M))
    return missing


def _tested_config(local_http: int, local_dicom: int, http: int) -> dict[str, Any]:
    """The settings GenerateConfigurationForTests.py gives the Orthanc under test, on our ports."""
    own = f"http://127.0.0.1:{http}/"
    return {
        "DefaultEncoding": "Utf8", "AllowFindSopClassesInStudy": False, "AuthenticationEnabled": True,
        "DicomAssociationCloseDelay": 0, "HttpCompressionEnabled": False, "LogExportedResources": True,
        "DicomModalities": {"orthanctest": ["ORTHANCTEST", "127.0.0.1", local_dicom]},
        "OrthancPeers": {
            "peer": [f"http://127.0.0.1:{local_http}/", USER, PASSWORD],
            "transfers-bidirectional": {"Url": own, "RemoteSelf": "transfers-bidirectional",
                                        "Username": USER, "Password": PASSWORD},
            "transfers-simple": {"Url": own, "Username": USER, "Password": PASSWORD},
            "self": {"Url": own, "Username": USER, "Password": PASSWORD},
        },
        "RegisteredUsers": {USER: PASSWORD}, "RemoteAccessAllowed": True, "OverwriteInstances": True,
        "JobsHistorySize": 1000, "SynchronousCMove": False, "MediaArchiveSize": 1, "SaveJobs": False,
        "ExecuteLuaEnabled": True, "HttpTimeout": 2, "SyncStorageArea": False, "WebDavEnabled": True,
        "WebDavDeleteAllowed": True, "WebDavUploadAllowed": True, "StorageCompression": False,
        "CheckRevisions": True,
        "Dictionary": {
            "00e1,10c2": ["UI", "PET-CT Multi Modality Name", 1, 1, "ELSCINT1"],
            "7053,1003": ["ST", "Original Image Filename", 1, 1, "Philips PET Private Group"],
            "4321,1012": ["LO", "RadioButton3", 1, 1, "RadioLogic"],
            "0009,1001": ["DS", "Abnormality score", 1, 1, "Lunit"],
            "0009,0010": ["LO", "Private data element", 1, 1, "Lunit"],
        },
        "DefaultPrivateCreator": "Lunit",
    }


def _local_config(folder: Path, http: int, dicom: int, tested_dicom: int) -> Path:
    """The ancillary Orthanc: core's default configuration with Run.py's changes, on our ports."""
    path = folder / "local.json"
    subprocess.run([ORTHANC, f"--config={path}"], check=True, capture_output=True)
    text = path.read_text()
    changes = [
        (r'("StorageDirectory"\s*:)\s*".*?"', rf'\1 "{folder / "local-db"}"'),
        (r'("IndexDirectory"\s*:)\s*".*?"', rf'\1 "{folder / "local-db"}"'),
        (r'("DicomAet"\s*:)\s*".*?"', r'\1 "ORTHANCTEST"'),
        (r'("DicomPort"\s*:)\s*.*?,', rf"\1 {dicom},"),
        (r'("HttpPort"\s*:)\s*.*?,', rf"\1 {http},"),
        (r'("RemoteAccessAllowed"\s*:)\s*false', r"\1 true"),
        (r'("AuthenticationEnabled"\s*:)\s*false,', ""),
        (r'("RegisteredUsers"\s*:)\s*{', rf'"AuthenticationEnabled" : true, \1 {{ "{USER}" : "{PASSWORD}"'),
        (r'("ExecuteLuaEnabled"\s*:)\s*false', r"\1 true"),
        (r'("HttpCompressionEnabled"\s*:)\s*true', r"\1 false"),
        (r'("DicomAssociationCloseDelay"\s*:)\s*[0-9]*', r"\1 0"),
        (r'("DicomModalities"\s*:)\s*{', rf'\1 {{ "orthanc" : [ "ORTHANC", "127.0.0.1", {tested_dicom} ]'),
        (r'("RleTransferSyntaxAccepted"\s*:)\s*true', r"\1 false"),
    ]
    for pattern, replacement in changes:
        text = re.sub(pattern, replacement, text)
    path.write_text(text)
    return path


def _run_suite(local: dict[str, Any], remote: dict[str, Any], out: Path, selection: list[str]) -> dict[str, str]:
    """Run the suite's tests in a child Python; test id -> 'pass', 'fail', 'error' or 'skip'."""
    script = f'''
import json, sys, unittest
sys.path.insert(0, {str(SUITE / "Tests")!r})
import Toolbox
from Tests import *
import Tests
local = Toolbox.DefineOrthanc(**{local!r})
remote = Toolbox.DefineOrthanc(**{remote!r})
Tests.SetOrthancParameters(local, remote, False)
loader = unittest.TestLoader()
names = {selection!r}
suite = loader.loadTestsFromNames(names, Tests) if names else loader.loadTestsFromTestCase(Tests.Orthanc)
outcomes = {{}}
import traceback
def where(err):
    # The suite's line that failed, and the exception's first line: where two failing runs differ.
    frames = [f for f in traceback.extract_tb(err[2]) if f.filename.endswith("Tests.py")]
    line = frames[-1].lineno if frames else 0
    return "%s at Tests.py:%d: %s" % (err[0].__name__, line, str(err[1]).splitlines()[0][:160] if str(err[1]) else "")
class Recorder(unittest.TextTestResult):
    def addSuccess(self, test): super().addSuccess(test); outcomes[test.id()] = "pass"
    def addFailure(self, test, err): super().addFailure(test, err); outcomes[test.id()] = "fail: " + where(err)
    def addError(self, test, err): super().addError(test, err); outcomes[test.id()] = "error: " + where(err)
    def addSkip(self, test, reason): super().addSkip(test, reason); outcomes[test.id()] = "skip"
    def addExpectedFailure(self, test, err): super().addExpectedFailure(test, err); outcomes[test.id()] = "pass"
    def addUnexpectedSuccess(self, test): super().addUnexpectedSuccess(test); outcomes[test.id()] = "fail: unexpected success"
runner = unittest.TextTestRunner(resultclass=Recorder, verbosity=2, stream=sys.stdout)
runner.run(suite)
with open({str(out)!r}, "w") as f:
    json.dump(outcomes, f, indent=1, sort_keys=True)
'''
    with open(out.with_suffix(".log"), "w") as log:
        subprocess.run([sys.executable, "-c", script], cwd=SUITE / "Tests", stdout=log, stderr=subprocess.STDOUT,
                       timeout=3600, check=False)
    return dict(json.loads(out.read_text()))


def run(core_routes: bool, selection: list[str]) -> dict[str, str]:
    """Both Orthancs up, the suite run against the previewer's Orthanc, both stopped."""
    name = "on" if core_routes else "off"
    folder = ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    local_http, local_dicom = free_port(), free_port()
    tested = OrthancProcess(folder / "tested", probe=False, previewer={"CoreRoutes": core_routes})
    tested.config.update(_tested_config(local_http, local_dicom, tested.http_port))
    tested.http.auth = (USER, PASSWORD)
    config = _local_config(folder, local_http, local_dicom, tested.dicom_port)
    with open(folder / "local.log", "wb") as log:
        ancillary = subprocess.Popen([ORTHANC, str(config)], stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    try:
        tested.start()
        _wait(f"http://127.0.0.1:{local_http}/system")
        local = dict(server="127.0.0.1", restPort=local_http, username=USER, password=PASSWORD,
                     aet="ORTHANCTEST", dicomPort=local_dicom)
        remote = dict(server="127.0.0.1", restPort=tested.http_port, username=USER, password=PASSWORD,
                      aet="ORTHANC", dicomPort=tested.dicom_port)
        return _run_suite(local, remote, ARTIFACTS / f"{name}.json", selection)
    finally:
        tested.stop()
        ancillary.terminate()
        ancillary.wait(30)


def _wait(url: str, timeout: float = 60.0) -> None:
    import requests
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, auth=(USER, PASSWORD), timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the ancillary Orthanc did not answer {url}")


def report(off: dict[str, str], on: dict[str, str], missing: list[str]) -> tuple[str, list[str]]:
    """docs/CORE_ROUTES.md's text, and the changed tests that have no reason."""
    changed = sorted(test for test in set(off) | set(on) if off.get(test) != on.get(test))
    unexplained = [test for test in changed if test not in REASONS]
    counts = {name: {kind: sum(1 for v in results.values() if v.split(":")[0] == kind)
                     for kind in ("pass", "fail", "error", "skip")}
              for name, results in (("off", off), ("on", on))}
    lines = [
        "# Orthanc's integration suite with \"CoreRoutes\"",
        "",
        "Generated by `tests/orthanc_suite.py` (`make test-orthanc-suite`); do not edit by hand.",
        "",
        f"orthanc-tests at tag `{TAG}` against Debian's Orthanc 1.10.1 with the previewer loaded, "
        "first as users get it (\"CoreRoutes\" off), then with \"CoreRoutes\": true.",
        "",
        "| run | passed | failed | errors | skipped |",
        "|---|---|---|---|---|",
        *(f"| {name} | {c['pass']} | {c['fail']} | {c['error']} | {c['skip']} |" for name, c in counts.items()),
        "",
        f"## Tests whose outcome changes ({len(changed)})",
        "",
    ]
    if changed:
        lines += ["| test | off | on | why |", "|---|---|---|---|"]
        lines += [f"| `{test.rsplit('.', 1)[-1]}` | {off.get(test, '-')} | {on.get(test, '-')} | "
                  f"{REASONS.get(test, '**not explained**')} |" for test in changed]
    else:
        lines.append("None.")
    failing = sorted(test.rsplit(".", 1)[-1] for test, outcome in off.items()
                     if outcome != "pass" and on.get(test) == outcome)
    lines += ["", f"## Tests that fail the same way in both runs ({len(failing)})", "",
              "Same outcome, at the same line of Tests.py, with the option off and on. The suite at this tag "
              "was written for Python 2 (most of these fail on bytes against str, or on map() having no "
              "len(), in Python 3), expects its ancillary Orthanc to be an old version (0.8.6), and some "
              "tests need files the mirror lacks; "
              f"the full outcomes are in test-artifacts/orthanc-suite/: {', '.join(f'`{t}`' for t in failing) or 'none'}.", "",
              "## Files the mirror lacks", "", ", ".join(f"`{m}`" for m in missing) or "None.", ""]
    return "\n".join(lines), unexplained


def main(argv: list[str]) -> int:
    """Run both (``--report``: rebuild docs/CORE_ROUTES.md from the last run's outcomes)."""
    selection = [a for a in argv[1:] if a != "--report"]
    missing = extract()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if "--report" in argv:
        off, on = (json.loads((ARTIFACTS / f"{name}.json").read_text()) for name in ("off", "on"))
    else:
        off, on = run(False, selection), run(True, selection)
    text, unexplained = report(off, on, missing)
    if not selection:
        REPORT.write_text(text)
    print(text)
    if unexplained:
        print("changed without a reason in tests/orthanc_suite.py REASONS: " + ", ".join(unexplained))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
