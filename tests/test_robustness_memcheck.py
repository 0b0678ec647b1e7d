"""The SDK memory loops under valgrind: `make memcheck` (skipped unless PREVIEWER_MEMCHECK=1).

Orthanc runs under ``valgrind --tool=memcheck --leak-check=full`` with
PYTHONMALLOC=malloc (so Python's allocations are visible to valgrind), the
SDK wrappers are looped a little (/probe/loop, n=PREVIEWER_MEMCHECK_LOOPS),
a few frames are rendered, Orthanc is stopped, and the "definitely lost"
records whose stack names our plugin (libOrthancPreviewer / _previewer_ /
_cffi) are counted: there must be none, and no invalid read, write or free.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

import orthanc_process
from conftest import CT_SMALL, RGB_FILE
from orthanc_process import OrthancProcess

pytestmark = pytest.mark.skipif(os.environ.get("PREVIEWER_MEMCHECK") != "1",
                                reason="slow: run with `make memcheck`")
LOOPS = int(os.environ.get("PREVIEWER_MEMCHECK_LOOPS", "50"))
KINDS = ("patient", "study", "series", "instance", "accession", "rest_get", "rest_get_error", "rest_post",
         "rest_put", "dicom_for_instance", "borrowed_dicom", "instance_file_uuid", "configuration_path",
         "orthanc_path", "orthanc_directory", "error_description")
OURS = re.compile(r"libOrthancPreviewer|_previewer_|_cffi")


def _records(text: str) -> list[str]:
    """Valgrind's records (blank-line separated blocks of ==PID== lines)."""
    lines = [re.sub(r"^==\d+== ?", "", line) for line in text.splitlines()]
    return [block for block in "\n".join(lines).split("\n\n") if block.strip()]


def test_memcheck(tmp_path: Path, plugin_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "valgrind.log"
    wrapper = tmp_path / "orthanc-valgrind"
    wrapper.write_text("#!/bin/sh\nexec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite "
                       f"--num-callers=40 --log-file={log} {orthanc_process.ORTHANC} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(orthanc_process, "ORTHANC", str(wrapper))
    process = OrthancProcess(tmp_path / "orthanc", previewer={"WarmOnIngest": False},
                             env={"PYTHONMALLOC": "malloc"})
    process.start(timeout=600)
    try:
        instance = str(process.upload(CT_SMALL)["ID"])
        rgb = str(process.upload(RGB_FILE)["ID"])
        for kind in KINDS:
            arg = instance if kind in ("dicom_for_instance", "borrowed_dicom", "instance_file_uuid") else ""
            answer = process.http.get(f"{process.url}/probe/loop", params={"kind": kind, "arg": arg, "n": LOOPS},
                                      timeout=600)
            assert answer.status_code == 200, answer.text
        for path in (f"/previewer/instances/{instance}/png", f"/previewer/instances/{rgb}/png?format=rgba32",
                     f"/previewer/instances/{instance}/info", "/previewer/instances/nope/png"):
            assert process.http.get(process.url + path, timeout=600).status_code < 500
    finally:
        process.stop(timeout=600)
    text = log.read_text(errors="replace")
    records = _records(text)
    invalid = [r for r in records if re.match(r"(Invalid (read|write|free)|Mismatched free)", r)]
    # glibc's SSE strncmp over-reads RPATH strings while dlopen()ing Python
    # extension modules (is_dst, dl-load.c): a known valgrind false positive.
    loader = [r for r in invalid if "is_dst (dl-load.c" in r and not OURS.search(r)]
    errors = [r for r in invalid if r not in loader]
    ours = [r for r in records if "definitely lost" in r and OURS.search(r)]
    summary = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
    report = Path(__file__).resolve().parent.parent / "test-artifacts" / "memcheck.txt"
    report.parent.mkdir(exist_ok=True)
    report.write_text(f"definitely lost (whole process): {summary.group(0) if summary else 'n/a'}\n"
                      f"records naming the plugin: {len(ours)}\ninvalid accesses: {len(errors)} "
                      f"(+ {len(loader)} in the dynamic loader's strncmp, ignored)\n\n"
                      + "\n\n".join(ours + errors) + "\n")
    assert not errors, errors[:3]
    assert not ours, ours[:3]
