"""``make install`` / ``make uninstall``: the plugin added to Debian's orthanc service.

The refusal and uninstall tests work in temporary folders.  The system tests
install for real into /opt/orthanc-previewer, /etc/orthanc and
/usr/share/orthanc/plugins (this machine and CI are disposable, and run as
root) and uninstall at the end.  The service then runs as Debian's unit runs
it, ``Orthanc --logdir=... <configuration folder>`` as the orthanc user with
every plugin of /usr/share/orthanc/plugins (orthanc-python included), but
from a copy of /etc/orthanc in which only the ports (8042 and 4242 belong to
the real service) and the storage paths are changed.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy
import pytest
import requests
from PIL import Image

from conftest import CT_SMALL
from previewer.serve.cluster import free_port
from previewer.config import Config, strip_comments
from previewer.serve.install import LIBRARY, Entry, InstallError, Layout, Manifest, config_text, install, uninstall

ROOT = Path(__file__).resolve().parent.parent
ORTHANC = "/usr/sbin/Orthanc"
SYSTEM = Layout()
SERVICE_USER = "orthanc"
#: What the copy of the package's configuration changes, with how often each text must occur.
PORTS_AND_PATHS = {
    "orthanc.json": [('"HttpPort" : 8042', '"HttpPort" : {http}', 1),
                     ('"DicomPort" : 4242', '"DicomPort" : {dicom}', 1),
                     ('"/var/lib/orthanc/db-v6"', '"{data}/db-v6"', 2)],
    "webviewer.json": [('"/tmp/OrthancWebViewerCache"', '"{data}/webviewer-cache"', 1)],
}


def _tree(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with its content's hash or its link target."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path)] = "-> " + os.readlink(path)
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[str(path)] = "dir"
    return found


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    """An empty install layout in tmp_path, its configuration folder holding one package-like file."""
    layout = Layout(tmp_path / "opt" / "orthanc-previewer", tmp_path / "etc", tmp_path / "plugins")
    for folder in (layout.prefix.parent, layout.config_dir, layout.plugins_dir):
        folder.mkdir(parents=True)
    (layout.config_dir / "orthanc.json").write_text('{\n  // the package\'s\n  "Plugins" : [ "%s/" ]\n}\n'
                                                    % layout.plugins_dir)
    return layout


class TestRefusals:
    def _refused(self, layout: Layout, match: str) -> None:
        before = _tree(layout.prefix.parent.parent)
        with pytest.raises(InstallError, match=match):
            install(layout, source=ROOT, python=sys.executable, log=lambda line: None)
        assert _tree(layout.prefix.parent.parent) == before

    def test_a_configuration_file_it_did_not_write(self, layout: Layout) -> None:
        """An existing previewer.json not in a manifest is refused, and nothing is written."""
        layout.config_file.write_text('{"Previewer": {"CacheSizeMB": 1}}')
        self._refused(layout, "previewer.json exists and was not installed")

    def test_a_previewer_section_in_another_file(self, layout: Layout) -> None:
        """A "Previewer" section elsewhere is refused (Orthanc would refuse it twice), naming the file."""
        (layout.config_dir / "local.json").write_text('{ /* mine */ "Previewer" : {} }')
        self._refused(layout, r"local\.json already defines \"Previewer\"")

    def test_a_plugin_already_listed(self, layout: Layout) -> None:
        """A configuration that already lists a libOrthancPreviewer.so is refused."""
        (layout.config_dir / "orthanc.json").write_text('{"Plugins": ["/home/me/build/%s"]}' % LIBRARY)
        self._refused(layout, "already loads a previewer plugin")

    def test_a_prefix_it_did_not_make(self, layout: Layout) -> None:
        """A non-empty prefix without a manifest is refused."""
        layout.prefix.mkdir()
        (layout.prefix / "notes.txt").write_text("the administrator's")
        self._refused(layout, "has no manifest.json")

    def test_a_link_it_did_not_make(self, layout: Layout) -> None:
        """Another file under the plugin's name in the plugin folder is refused."""
        layout.link.write_bytes(b"\x7fELF someone else's")
        self._refused(layout, "libOrthancPreviewer.so exists and was not installed")

    def test_no_orthanc_package(self, layout: Layout) -> None:
        """Without the package's plugin folder the error says to install Debian's orthanc."""
        layout.plugins_dir.rmdir()
        self._refused(layout, r"is Debian's orthanc package installed")

    def test_command_line_error(self, tmp_path: Path) -> None:
        """previewer install exits 1 with the reason on standard error."""
        result = subprocess.run([sys.executable, "-m", "previewer.serve.cli", "install", "--prefix", str(tmp_path / "p"),
                                 "--config-dir", str(tmp_path / "none")], capture_output=True, text=True)
        assert result.returncode == 1
        assert result.stderr.startswith("previewer install: ") and "none is not a folder" in result.stderr


def _fake_install(layout: Layout) -> Manifest:
    """The files of an install, written by hand and recorded through the real Manifest."""
    manifest = Manifest(layout)
    layout.prefix.mkdir()
    manifest.record(Entry(layout.prefix, "dir"))
    (layout.venv / "bin").mkdir(parents=True)
    (layout.venv / "bin" / "python").write_text("#!")
    manifest.record(Entry(layout.venv, "tree"))
    layout.lib_dir.mkdir()
    manifest.record(Entry(layout.lib_dir, "dir"))
    layout.plugin.write_bytes(b"plugin")
    manifest.record(Entry(layout.plugin, "file", sha256=hashlib.sha256(b"plugin").hexdigest()))
    layout.config_file.write_text(config_text())
    manifest.record(Entry(layout.config_file, "file", sha256=hashlib.sha256(config_text().encode()).hexdigest()))
    layout.link.symlink_to(layout.plugin)
    manifest.record(Entry(layout.link, "link", target=str(layout.plugin)))
    return manifest


class TestUninstall:
    def test_removes_exactly_the_manifest(self, layout: Layout) -> None:
        """Every recorded path goes, every other file stays, and a second uninstall does nothing."""
        before = _tree(layout.prefix.parent.parent)
        _fake_install(layout)
        lines: list[str] = []
        uninstall(layout.prefix, log=lines.append)
        assert _tree(layout.prefix.parent.parent) == before
        assert f"removed the link {layout.link}" in lines and f"removed {layout.prefix}" in lines
        uninstall(layout.prefix, log=lines.append)
        assert lines[-1] == f"nothing to uninstall: no {layout.manifest}"

    def test_keeps_what_was_changed(self, layout: Layout) -> None:
        """An edited configuration, a re-pointed link and a prefix holding other files are left."""
        _fake_install(layout)
        with open(layout.config_file, "a") as handle:
            handle.write("// edited\n")
        layout.link.unlink()
        layout.link.symlink_to("/elsewhere/" + LIBRARY)
        (layout.prefix / "notes.txt").write_text("the administrator's")
        lines: list[str] = []
        uninstall(layout.prefix, log=lines.append)
        assert layout.config_file.read_text().endswith("// edited\n")
        assert os.readlink(layout.link) == "/elsewhere/" + LIBRARY
        assert sorted(p.name for p in layout.prefix.iterdir()) == ["notes.txt"]
        assert f"left {layout.prefix}: it holds files that were not installed" in lines

    def test_refuses_a_manifest_naming_other_paths(self, layout: Layout, tmp_path: Path) -> None:
        """A manifest that lists a path no install makes is refused before anything is removed."""
        _fake_install(layout)
        victim = tmp_path / "precious.txt"
        victim.write_text("keep")
        data = json.loads(layout.manifest.read_text())
        data["entries"].append({"path": str(victim), "kind": "file",
                                "sha256": hashlib.sha256(b"keep").hexdigest()})
        layout.manifest.write_text(json.dumps(data))
        with pytest.raises(InstallError, match="which no install creates"):
            uninstall(layout.prefix, log=lambda line: None)
        assert victim.read_text() == "keep" and layout.plugin.exists()


# --- the real install, and Debian's service --------------------------------------------

def _make(target: str, umask: int = 0o022) -> str:
    """`make target` in the clone, with the Makefile's default PREFIX (not one from the environment)."""
    env = {key: value for key, value in os.environ.items() if key != "PREFIX"}
    result = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), target], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, umask=umask, timeout=300, env=env)
    if result.returncode != 0:
        pytest.fail(f"make {target} failed ({result.returncode}):\n{result.stdout}")
    return result.stdout


def _system_snapshot() -> dict[str, str]:
    """The package's configuration and plugin folders in full, and the names in /opt."""
    found = {**_tree(SYSTEM.config_dir), **_tree(SYSTEM.plugins_dir)}
    found.update({str(path): "" for path in Path("/opt").iterdir()})
    return found


@pytest.fixture(scope="module")
def installed() -> Iterator[tuple[dict[str, str], str]]:
    """`make install` run for real, under umask 077; (the system before, make's output). Uninstalled after."""
    if os.geteuid() != 0:
        pytest.skip("installs into /opt, /etc/orthanc and /usr/share/orthanc/plugins: needs root")
    present = [p for p in (SYSTEM.manifest, SYSTEM.config_file, SYSTEM.link) if os.path.lexists(p)]
    if present:
        pytest.fail(f"already installed on this machine ({present[0]}); the test would remove it: "
                    "run `make uninstall` first")
    before = _system_snapshot()
    output = _make("install", umask=0o077)
    try:
        yield before, output
    finally:
        _make("uninstall")


class _Service:
    """Debian's service from a copy of /etc/orthanc (ports and storage paths changed), as the orthanc user."""

    def __init__(self, folder: Path) -> None:
        self.user = pwd.getpwnam(SERVICE_USER)
        self.http_port, self.dicom_port = free_port(), free_port()
        assert not {self.http_port, self.dicom_port} & {8042, 4242}
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.etc, self.logs, data = folder / "etc", folder / "log", folder / "data"
        self.etc.mkdir()
        for source in sorted(SYSTEM.config_dir.iterdir()):
            shutil.copy2(source, self.etc / source.name)
            os.chown(self.etc / source.name, source.stat().st_uid, source.stat().st_gid)
        for name, changes in PORTS_AND_PATHS.items():
            text = (self.etc / name).read_text()
            for old, new, count in changes:
                if text.count(old) != count:
                    pytest.fail(f"the package's {name} no longer has {old!r} {count} time(s)")
                text = text.replace(old, new.format(http=self.http_port, dicom=self.dicom_port, data=data))
            (self.etc / name).write_text(text)
        for own in (self.logs, data):
            own.mkdir()
            os.chown(own, self.user.pw_uid, self.user.pw_gid)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [ORTHANC, f"--logdir={self.logs}", f"{self.etc}/"], cwd="/", stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            user=self.user.pw_uid, group=self.user.pw_gid,
            extra_groups=os.getgrouplist(SERVICE_USER, self.user.pw_gid),
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.user.pw_dir, "USER": SERVICE_USER,
                 "LOGNAME": SERVICE_USER, "LANG": "C.UTF-8"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(self.url + "/system", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        pytest.fail(f"the service did not start (exit {self.process.poll()}):\n{self.log()}")

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.logs.glob("Orthanc.log.*")))

    def credentials(self) -> list[tuple[str, str]]:
        """The Uid, Gid and Groups lines of the process and of each of its threads."""
        lines = []
        for status in [Path(f"/proc/{self.pid}/status"), *Path(f"/proc/{self.pid}/task").glob("*/status")]:
            for line in status.read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("Uid", "Gid", "Groups"):
                    lines.append((key, value.strip()))
        return lines


@pytest.mark.slow
class TestSystemInstall:
    """In file order: the last test uninstalls (the fixture's uninstall is then a no-op)."""

    def test_lays_out_the_files(self, installed: tuple[dict[str, str], str]) -> None:
        """The manifest lists the venv, the plugin, the link and previewer.json, and nothing of Debian's changed."""
        before, output = installed
        manifest = Manifest.load(SYSTEM.prefix)
        assert manifest is not None and manifest.layout == SYSTEM
        assert set(manifest.entries) == set(SYSTEM.kinds()) - {SYSTEM.build_dir}
        assert os.readlink(SYSTEM.link) == str(SYSTEM.plugin)
        assert str(SYSTEM.venv_python).encode() in SYSTEM.plugin.read_bytes()
        assert "home = /usr/bin" in (SYSTEM.venv / "pyvenv.cfg").read_text()
        section = json.loads(strip_comments(SYSTEM.config_file.read_text()))["Previewer"]
        assert section == {k: v for k, v in Config().section().items() if k != "TestModules"}
        after = _system_snapshot()
        assert {path: digest for path, digest in before.items() if after.get(path) != digest} == {}
        assert sorted(set(after) - set(before)) == sorted(map(str, (SYSTEM.config_file, SYSTEM.link, SYSTEM.prefix)))
        assert "link " + str(SYSTEM.link) in output

    def test_package_is_a_copy_with_the_viewer(self, installed: tuple[dict[str, str], str]) -> None:
        """The venv imports previewer from its own site-packages, with the viewer's files."""
        code = "import previewer.plugin.endpoints.static as v; print(v.__file__); print(v.STATIC_ROOT)"
        out = subprocess.run([str(SYSTEM.venv_python), "-c", code], capture_output=True, text=True, cwd="/",
                             env={"PATH": "/usr/bin:/bin"}, check=True).stdout.split("\n")
        assert out[0].startswith(str(SYSTEM.venv / "lib")) and not out[0].startswith(str(ROOT))
        static = Path(out[1])
        assert not static.is_symlink()
        assert {p.name: p.read_bytes() for p in static.iterdir()} == \
               {p.name: p.read_bytes() for p in (ROOT / "static").iterdir()}

    def test_readable_by_the_service_user(self, installed: tuple[dict[str, str], str]) -> None:
        """Installed under umask 077, every file is still readable by the orthanc user."""
        code = ("import os, sys\n"
                "bad = [top for top in sys.argv[1:] if not os.access(top, os.R_OK)]\n"
                "for folder, dirs, files in os.walk(sys.argv[1]):\n"
                "    bad += [os.path.join(folder, d) for d in dirs\n"
                "            if not os.access(os.path.join(folder, d), os.R_OK | os.X_OK)]\n"
                "    bad += [os.path.join(folder, f) for f in files if not os.access(os.path.join(folder, f), os.R_OK)]\n"
                "print(bad)\n")
        user = pwd.getpwnam(SERVICE_USER)
        out = subprocess.run(["/usr/bin/python3", "-c", code, str(SYSTEM.prefix), str(SYSTEM.config_file),
                              str(SYSTEM.link)], capture_output=True, text=True, cwd="/", user=user.pw_uid,
                             group=user.pw_gid, extra_groups=[], check=True).stdout
        assert out.strip() == "[]"

    def test_install_again_changes_nothing(self, installed: tuple[dict[str, str], str]) -> None:
        """A second `make install` keeps the venv and leaves plugin, link and configuration as they are."""
        paths = (SYSTEM.plugin, SYSTEM.config_file, SYSTEM.link, SYSTEM.venv_python)
        before = [(os.lstat(p).st_ino, os.lstat(p).st_mtime_ns) for p in paths]
        manifest = SYSTEM.manifest.read_text()
        output = _make("install")
        assert [(os.lstat(p).st_ino, os.lstat(p).st_mtime_ns) for p in paths] == before
        assert SYSTEM.manifest.read_text() == manifest
        for line in (f"venv {SYSTEM.venv}: kept", f"plugin {SYSTEM.plugin}: unchanged",
                     f"configuration {SYSTEM.config_file}: unchanged", f"link {SYSTEM.link}: unchanged"):
            assert line in output

    def test_service_renders_as_the_orthanc_user(self, installed: tuple[dict[str, str], str]) -> None:
        """The package's service, with all its plugins, serves a CT's PNG and the viewer, as orthanc, not root."""
        folder = Path(tempfile.mkdtemp(prefix="previewer-service-"))
        folder.chmod(0o755)
        service = _Service(folder)
        try:
            service.start()
            user = service.user
            for key, value in service.credentials():
                expected = {"Uid": user.pw_uid, "Gid": user.pw_gid}.get(key)
                ids = [int(v) for v in value.split()]
                assert 0 not in ids and (expected is None or set(ids) == {expected}), (key, value)
            plugins = requests.get(service.url + "/plugins", timeout=10).json()
            assert {"previewer", "python", "dicom-web", "web-viewer", "gdcm"} <= set(plugins)
            stored = requests.post(service.url + "/instances", data=CT_SMALL.read_bytes(), timeout=30).json()
            png = requests.get(f"{service.url}/previewer/instances/{stored['ID']}/png", timeout=30)
            assert png.status_code == 200 and png.headers["Content-Type"] == "image/png", png.text[:300]
            pixels = numpy.asarray(Image.open(io.BytesIO(png.content)))
            assert pixels.shape == (128, 128) and pixels.std() > 10
            page = requests.get(service.url + "/previewer/", timeout=10)
            assert page.status_code == 200 and page.content == (ROOT / "static" / "index.html").read_bytes()
            maps = Path(f"/proc/{service.pid}/maps").read_text()
            assert str(SYSTEM.plugin) in maps and str(SYSTEM.venv) + "/lib/" in maps
            assert str(ROOT) not in maps
            assert service.stop() == 0
            log = service.log()
            assert "Registering plugin 'previewer'" in log and "Hello world from Python!" in log
            assert f'Reading the configuration from: "{service.etc}/previewer.json"' in log
            assert "Orthanc has stopped" in log
        finally:
            if service.process is not None:
                service.stop()
            shutil.rmtree(folder)

    def test_uninstall_removes_exactly_what_was_installed(self, installed: tuple[dict[str, str], str]) -> None:
        """`make uninstall` leaves the system as before; run again, it has nothing to do."""
        before, _ = installed
        output = _make("uninstall")
        assert "Uninstalled." in output
        assert _system_snapshot() == before
        assert f"nothing to uninstall: no {SYSTEM.manifest}" in _make("uninstall")
