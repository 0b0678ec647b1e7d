"""The soak, bounded: ~45 s of tests/soak.py at concurrency 16 (`make soak` runs 10 minutes)."""
from __future__ import annotations

import os
from pathlib import Path

from orthanc_process import OrthancProcess
from soak import soak, upload_corpus, write_outputs

SECONDS = float(os.environ.get("PREVIEWER_SOAK_SECONDS", "40"))


def test_bounded_soak(tmp_path: Path, plugin_path: Path) -> None:
    process = OrthancProcess(tmp_path, previewer={"CacheSizeMB": 16}).start()
    try:
        ids = upload_corpus(process, limit=40)
        assert len(ids) >= 20
        result = soak(process, ids, SECONDS, concurrency=16)
        assert process.process is not None and process.process.poll() is None
    finally:
        process.stop()
    write_outputs(result, Path(__file__).resolve().parent.parent / "test-artifacts" / "soak-bounded")
    summary = result.summary()
    assert not result.failures, (summary, result.failures[:10])
    assert result.requests > 100, summary
    assert summary["warmed_up"], summary
    assert not summary["leak"], summary
