"""Two Orthanc nodes on one PostgreSQL index, with nginx in front.

Runs only with ``PREVIEWER_CLUSTER_TESTS=1`` (``make test-cluster`` sets it and
installs postgresql, orthanc-postgresql and nginx): it starts a PostgreSQL
cluster, two Orthanc nodes and nginx through the real command,
``previewer serve --nodes 2 --postgres auto``, and stops them with SIGINT
(Ctrl-C) at the end.  About 20-30 s on the 2-core reference machine, plus
about 15 s for each signal of the stop test (SIGTERM, SIGHUP and
SIGKILL, each on a cluster of its own, started twice).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import CT_SMALL, MR_SMALL, RGB_FILE, chromium, sync_playwright
from pixels_corpus import fresh_copy
from orthanc_process import ROOT
from test_cli import kill_all, spawn_serve

pytestmark = pytest.mark.skipif(os.environ.get("PREVIEWER_CLUSTER_TESTS") != "1",
                                reason="multi-node test: set PREVIEWER_CLUSTER_TESTS=1 (make test-cluster)")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "cluster"


@dataclass
class Cluster:
    process: subprocess.Popen[str]
    folder: Path
    a: str          # node 1
    b: str          # node 2
    balancer: str
    http: requests.Session

    def upload(self, url: str, data: bytes) -> str:
        answer = self.http.post(url + "/instances", data=data, timeout=60)
        answer.raise_for_status()
        return str(answer.json()["ID"])

    def stats(self, url: str) -> dict[str, Any]:
        return self.http.get(url + "/previewer/stats", timeout=10).json()  # type: ignore[no-any-return]


def _output(process: subprocess.Popen[str]) -> str:
    try:
        out, _ = process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        return ""
    return out or ""


@pytest.fixture(scope="module")
def cluster(plugin_path: Path) -> Iterator[Cluster]:
    from previewer.serve.cluster import consecutive_free_ports, free_port

    for tool in ("/usr/sbin/nginx", "/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so"):
        if not Path(tool).exists():
            pytest.fail(f"{tool} is missing: run `make test-cluster` (it installs postgresql, "
                        "orthanc-postgresql and nginx)")
    # Not under pytest's tmp_path: /tmp/pytest-of-root is 0700, and the
    # PostgreSQL server runs as the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="previewer-cluster-"))
    folder.chmod(0o755)
    http_port = consecutive_free_ports(2)
    dicom_port = consecutive_free_ports(2, avoid=(http_port, http_port + 1))
    balancer_port = free_port()
    process = spawn_serve(["--nodes", "2", "--postgres", "auto", "--no-samples", "--storage", str(folder),
                           "--http-port", str(http_port), "--dicom-port", str(dicom_port),
                           "--balancer-port", str(balancer_port)],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    http = requests.Session()
    urls = [f"http://127.0.0.1:{p}" for p in (http_port, http_port + 1, balancer_port)]
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"previewer serve --nodes 2 exited with {process.returncode}:\n{_output(process)}")
            try:
                if all(http.get(u + "/system", timeout=2).status_code == 200 for u in urls):
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                kill_all(process, set())
                pytest.fail(f"the cluster did not start in 90 s:\n{_output(process)}")
            time.sleep(0.2)
        yield Cluster(process, folder, urls[0], urls[1], urls[2], http)
    finally:
        try:
            kill_all(process, set())   # nothing left once the Ctrl-C test has stopped it; else everything
        finally:
            http.close()
            shutil.rmtree(folder, ignore_errors=True)


def test_both_nodes_use_the_postgresql_index(cluster: Cluster) -> None:
    """Each node's /system names the PostgreSQL index plugin."""
    for url in (cluster.a, cluster.b):
        system = cluster.http.get(url + "/system", timeout=10).json()
        assert system["DatabaseBackendPlugin"] and "PostgreSQL" in system["DatabaseBackendPlugin"]


def test_upload_to_a_renders_identically_on_b(cluster: Cluster) -> None:
    """CT_small.dcm stored through A renders on B with the same bytes and the same ETag."""
    instance = cluster.upload(cluster.a, fresh_copy(CT_SMALL))
    for path in ("/png", "/frames/0/png?window=40,400", "/frames/0/png?size=64&format=gray16"):
        on_a = cluster.http.get(f"{cluster.a}/previewer/instances/{instance}{path}", timeout=30)
        on_b = cluster.http.get(f"{cluster.b}/previewer/instances/{instance}{path}", timeout=30)
        assert on_a.status_code == on_b.status_code == 200, (on_a.text[:200], on_b.text[:200])
        assert on_a.headers["Content-Type"] == "image/png"
        assert on_a.content == on_b.content
        # The version (the stored file's UUID) comes from the shared index: same ETag everywhere.
        assert on_a.headers["ETag"] == on_b.headers["ETag"]
    info = cluster.http.get(f"{cluster.b}/previewer/instances/{instance}/info", timeout=30).json()
    assert info["id"] == instance


def _wait_warmup_done(cluster: Cluster, url: str, done: int, timeout: float = 20) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        warm = cluster.stats(url)["warmup"]
        if warm["done"] + warm["failed"] >= done or time.monotonic() > deadline:
            return warm  # type: ignore[no-any-return]
        time.sleep(0.05)


def _idle_warmup(cluster: Cluster, url: str, timeout: float = 20) -> dict[str, int]:
    """The node's warm-up counters once everything queued earlier is finished."""
    deadline = time.monotonic() + timeout
    while True:
        warm = cluster.stats(url)["warmup"]
        if warm["queued"] == warm["done"] + warm["failed"] or time.monotonic() > deadline:
            return warm  # type: ignore[no-any-return]
        time.sleep(0.05)


def test_warmup_runs_only_on_the_ingesting_node(cluster: Cluster) -> None:
    """OnStoredInstance fires on the node that received the file: one pre-render per instance."""
    before_a, before_b = _idle_warmup(cluster, cluster.a), _idle_warmup(cluster, cluster.b)
    for path in (MR_SMALL, RGB_FILE):
        cluster.upload(cluster.a, fresh_copy(path))
    warm_a = _wait_warmup_done(cluster, cluster.a, before_a["done"] + before_a["failed"] + 2)
    assert warm_a["queued"] == before_a["queued"] + 2
    assert warm_a["done"] == before_a["done"] + 2
    time.sleep(0.5)    # give node B every chance to (wrongly) react
    assert cluster.stats(cluster.b)["warmup"] == before_b
    # And the other way round.
    cluster.upload(cluster.b, fresh_copy(MR_SMALL))
    warm_b = _wait_warmup_done(cluster, cluster.b, before_b["done"] + 1)
    assert warm_b["queued"] == before_b["queued"] + 1
    assert cluster.stats(cluster.a)["warmup"]["queued"] == warm_a["queued"]


def test_delete_on_b_is_404_on_a_at_once(cluster: Cluster) -> None:
    """An image A serves from its cache, deleted through B: the very first request to A after the DELETE is
    a 404 (no stale copy, no delay), also with the old ETag, and B and nginx agree."""
    instance = cluster.upload(cluster.a, fresh_copy(CT_SMALL))
    url = f"{cluster.a}/previewer/instances/{instance}/frames/0/png?window=50,350"
    first = cluster.http.get(url, timeout=30)
    assert first.status_code == 200
    hits = cluster.stats(cluster.a)["cache"]["hits"]
    again = cluster.http.get(url, timeout=30)
    assert again.content == first.content
    assert cluster.stats(cluster.a)["cache"]["hits"] > hits      # A serves it from its cache now
    etag = first.headers["ETag"]
    assert cluster.http.delete(f"{cluster.b}/instances/{instance}", timeout=30).status_code == 200
    answer = cluster.http.get(url, timeout=30)
    assert answer.status_code == 404, answer.text[:200]
    assert answer.json()["status"] == 404
    # A conditional request with the old ETag is no 304 either, and B agrees.
    assert cluster.http.get(url, headers={"If-None-Match": etag}, timeout=30).status_code == 404
    assert cluster.http.get(f"{cluster.b}/previewer/instances/{instance}/png", timeout=30).status_code == 404
    assert cluster.http.get(f"{cluster.balancer}/previewer/instances/{instance}/info", timeout=30).status_code == 404


def test_nginx_balances_over_both_nodes(cluster: Cluster) -> None:
    """Six requests through nginx reach both nodes (X-Previewer-Node)."""
    nodes = {cluster.http.get(cluster.balancer + "/system", timeout=10).headers["X-Previewer-Node"]
             for _ in range(6)}
    assert nodes == {cluster.a.removeprefix("http://"), cluster.b.removeprefix("http://")}


def test_viewer_through_nginx(cluster: Cluster) -> None:
    """Chromium browses the study list, opens a study and draws an image, all through nginx."""
    study = cluster.http.post(cluster.balancer + "/instances", data=fresh_copy(CT_SMALL), timeout=60).json()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    served_by: set[str] = set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(20000)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("response", lambda r: served_by.add(r.headers.get("x-previewer-node", "")))
            page.goto(cluster.balancer + "/previewer/")
            page.wait_for_selector(".study-row")
            page.click(f".study-row[data-study='{study['ParentStudy']}'] a")
            page.wait_for_selector("#study-view[data-state=ready]")
            page.wait_for_function(
                "() => document.querySelectorAll('.series-card .thumb-box[data-state=ready] img.thumb').length >= 1")
            page.screenshot(path=str(ARTIFACTS / "study.png"))
            page.click(".series-card")
            page.wait_for_selector(".viewport canvas[data-state=ready]")
            page.wait_for_function("() => Number(document.querySelector('.viewport canvas').dataset.renders) > 0")
            drawn = page.evaluate("""() => {
                const c = document.querySelector('.viewport canvas');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let max = 0; for (let i = 0; i < d.length; i += 4) max = Math.max(max, d[i]);
                return {width: c.width, max};
            }""")
            page.screenshot(path=str(ARTIFACTS / "image.png"))
        finally:
            browser.close()
    assert drawn["width"] > 0 and drawn["max"] > 0
    assert errors == []
    # The page's requests were spread over both nodes by nginx.
    assert {cluster.a.removeprefix("http://"), cluster.b.removeprefix("http://")} <= served_by


def test_ctrl_c_stops_every_process(cluster: Cluster) -> None:
    """SIGINT to `previewer serve` stops both nodes, nginx and PostgreSQL, and it exits 0."""
    postmaster = cluster.folder / "postgres" / "postmaster.pid"
    nginx_pid = cluster.folder / "nginx" / "nginx.pid"
    assert postmaster.exists() and nginx_pid.exists()
    pids = [int(postmaster.read_text().split()[0]), int(nginx_pid.read_text().split()[0])]
    cluster.process.send_signal(signal.SIGINT)
    assert cluster.process.wait(60) == 0, _output(cluster.process)
    assert not postmaster.exists()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    for url in (cluster.a, cluster.b, cluster.balancer):
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/system", timeout=2)


# --------------------------------------------------------------------------- stopping serve


def _postmaster(folder: Path) -> int | None:
    try:
        return int((folder / "postgres" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# One end-to-end run per signal family: SIGTERM for the stop signals (SIGINT is
# test_ctrl_c_stops_every_process; SIGHUP takes the same handler, which
# tests/test_supervise.py checks in process) and SIGKILL for a death.
def _cmdline(pid: int) -> str:
    """The command line of a running process (its first 100 characters), or '' once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:100]
    except OSError:
        return ""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: signal.Signals(s).name)
def test_signal_stops_every_process_and_a_restart_finds_the_data(signum: int, plugin_path: Path) -> None:
    """A signal to `serve --nodes 2` alone (CT_small.dcm uploaded before) stops both nodes, nginx, the
    watchdog and PostgreSQL within a bound, frees every port, and a restart on the folder finds the instance."""
    from previewer.serve.cluster import consecutive_free_ports, free_port, port_is_free
    from test_cli import STOP_BOUND, descendants, serve_log, start_serve, upload, wait_answering, wait_gone

    top = Path(tempfile.mkdtemp(prefix="previewer-cluster-signal-"))   # o+x: PostgreSQL runs as postgres
    top.chmod(0o755)
    folder = top / "data"
    http_port = consecutive_free_ports(2)
    dicom_port = consecutive_free_ports(2, avoid=(http_port, http_port + 1))
    balancer_port = free_port()
    ports = [http_port, http_port + 1, dicom_port, dicom_port + 1, balancer_port]
    urls = [f"http://127.0.0.1:{p}" for p in (http_port, http_port + 1, balancer_port)]
    options = ("--nodes", "2", "--postgres", "auto", "--balancer-port", str(balancer_port))
    serve = start_serve(folder, http_port, dicom_port, *options)
    started: set[int] = set()
    try:
        try:
            wait_answering(serve, urls)
            instance = upload(urls[1], CT_SMALL)
            postmaster = _postmaster(folder)
            assert postmaster is not None
            # Nodes, nginx (and its workers), the watchdog; PostgreSQL is pg_ctl's daemon.
            started = descendants(serve.pid) | {postmaster} | descendants(postmaster)
            assert len(descendants(serve.pid)) >= 4
            os.kill(serve.pid, signum)
            try:
                code = serve.wait(STOP_BOUND)
            except subprocess.TimeoutExpired:   # say where it stopped: serve's own log, and each process left
                left = [_cmdline(p) for p in sorted(started | {serve.pid})]
                pytest.fail(f"serve did not stop in {STOP_BOUND} s; still running: {[c for c in left if c]}\n"
                            f"{serve_log(folder)[-4000:]}")
            assert wait_gone(started, STOP_BOUND) == set(), serve_log(folder)
        finally:
            kill_all(serve, started)
        log = serve_log(folder)
        assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 0), log
        if signum != signal.SIGKILL:
            assert f"previewer: {signal.Signals(signum).name} received; stopping the cluster" in log
            assert "SIGKILL" not in log
        else:
            assert "previewer serve is gone" in (folder / "watchdog.log").read_text()
        assert _postmaster(folder) is None
        assert all(port_is_free(p) for p in ports)
        again = start_serve(folder, http_port, dicom_port, *options, log="again.log")
        try:
            wait_answering(again, urls)
            for url in urls:
                assert requests.get(f"{url}/instances/{instance}", timeout=10).status_code == 200
            os.kill(again.pid, signal.SIGTERM)
            assert again.wait(STOP_BOUND) == 0, serve_log(folder, "again.log")
        finally:
            kill_all(again, set())
    finally:
        shutil.rmtree(top, ignore_errors=True)
