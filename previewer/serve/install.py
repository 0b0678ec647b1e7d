"""``previewer install | uninstall``: the plugin for Debian's ``orthanc`` service.

What goes where, with the default locations (docs/INSTALL.md):

- ``/opt/orthanc-previewer/venv``: a virtualenv made from ``/usr/bin/python3``,
  with this package installed in it (not editable: the clone may go away);
- ``/opt/orthanc-previewer/lib/libOrthancPreviewer.so``: the plugin, built with
  that venv's python, whose path it embeds;
- ``/usr/share/orthanc/plugins/libOrthancPreviewer.so``: a symbolic link to the
  plugin, in the folder that Debian's ``orthanc.json`` lists in ``"Plugins"``.
  Orthanc refuses a key defined in two files of its configuration folder, so
  no file of ours can add a second ``"Plugins"``; Debian links its own plugins
  into that folder the same way;
- ``/etc/orthanc/previewer.json``: the ``"Previewer"`` section;
- ``/opt/orthanc-previewer/manifest.json``: every path created, so that
  ``uninstall`` removes exactly those.

No file of a Debian package is written.  Both commands are idempotent; the
files are world-readable whatever the caller's umask, so that the ``orthanc``
user can load them.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from .. import __version__
from ..config import SECTION, Config, strip_comments

SOURCE = Path(__file__).resolve().parent.parent.parent
LIBRARY = "libOrthancPreviewer.so"
CONFIG_NAME = "previewer.json"
MANIFEST_NAME = "manifest.json"
DEFAULT_PYTHON = "/usr/bin/python3"
COMMANDS = ("install", "uninstall")
KINDS = ("dir", "tree", "file", "link")

Log = Callable[[str], None]


def _say(message: str) -> None:
    print(message, flush=True)


class InstallError(RuntimeError):
    """An install or uninstall that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Layout:
    """Where an install puts its files (absolute paths)."""

    prefix: Path = Path("/opt/orthanc-previewer")
    config_dir: Path = Path("/etc/orthanc")
    plugins_dir: Path = Path("/usr/share/orthanc/plugins")

    @property
    def venv(self) -> Path:
        return self.prefix / "venv"

    @property
    def venv_python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def lib_dir(self) -> Path:
        return self.prefix / "lib"

    @property
    def build_dir(self) -> Path:
        return self.prefix / "build"

    @property
    def plugin(self) -> Path:
        return self.lib_dir / LIBRARY

    @property
    def link(self) -> Path:
        return self.plugins_dir / LIBRARY

    @property
    def config_file(self) -> Path:
        return self.config_dir / CONFIG_NAME

    @property
    def manifest(self) -> Path:
        return self.prefix / MANIFEST_NAME

    def kinds(self) -> dict[Path, str]:
        """The only paths an install creates, and what each is."""
        return {self.prefix: "dir", self.venv: "tree", self.build_dir: "tree", self.lib_dir: "dir",
                self.plugin: "file", self.config_file: "file", self.link: "link"}


@dataclass(frozen=True)
class Entry:
    """One created path: a folder (removed if empty), a tree (removed whole),
    a file (removed if its SHA-256 is unchanged) or a link (removed if it still points to ``target``)."""

    path: Path
    kind: str
    sha256: str = ""
    target: str = ""


class Manifest:
    """The record of an install, written again after every path it adds."""

    def __init__(self, layout: Layout, entries: Iterable[Entry] = ()) -> None:
        self.layout = layout
        self.entries: dict[Path, Entry] = {entry.path: entry for entry in entries}

    def get(self, path: Path) -> Entry | None:
        return self.entries.get(path)

    def record(self, entry: Entry) -> None:
        self.entries[entry.path] = entry
        self.save()

    def forget(self, path: Path) -> None:
        self.entries.pop(path, None)
        self.save()

    def save(self) -> None:
        layout = self.layout
        data = {
            "installer": f"orthanc-previewer {__version__}",
            "layout": {"prefix": str(layout.prefix), "config_dir": str(layout.config_dir),
                       "plugins_dir": str(layout.plugins_dir)},
            "entries": [{key: value for key, value in (("path", str(e.path)), ("kind", e.kind),
                                                       ("sha256", e.sha256), ("target", e.target)) if value}
                        for e in self.entries.values()],
        }
        _write_atomically(layout.manifest, json.dumps(data, indent=2) + "\n", 0o644)

    @classmethod
    def load(cls, prefix: Path) -> Manifest | None:
        """The manifest in ``prefix``, None if there is none; a damaged one is an :class:`InstallError`."""
        path = prefix / MANIFEST_NAME
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            recorded = data["layout"]
            layout = Layout(prefix, Path(recorded["config_dir"]), Path(recorded["plugins_dir"]))
            entries = [Entry(Path(e["path"]), e["kind"], e.get("sha256", ""), e.get("target", ""))
                       for e in data["entries"]]
            written_for = Path(recorded["prefix"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise InstallError(f"cannot read the manifest {path}: {error!r}") from error
        if written_for != prefix:
            raise InstallError(f"the manifest {path} was written for the prefix {written_for}")
        allowed = layout.kinds()
        for entry in entries:
            if allowed.get(entry.path) != entry.kind:
                raise InstallError(f"the manifest {path} lists {entry.path} ({entry.kind}), which no install "
                                   "creates; refusing to touch it")
        return cls(layout, entries)


# --- install ---------------------------------------------------------------------

def install(layout: Layout, *, source: Path = SOURCE, python: str = DEFAULT_PYTHON, log: Log = _say) -> None:
    """Install (or bring up to date) the venv, the plugin, its link and the configuration file."""
    _check_source(source)
    _check_targets(layout, python)
    manifest = Manifest.load(layout.prefix)
    if manifest is not None and manifest.layout != layout:
        raise InstallError(f"{layout.prefix} holds an install for {manifest.layout.config_dir} and "
                           f"{manifest.layout.plugins_dir}: run `previewer uninstall` first")
    manifest = manifest or Manifest(layout)
    _check_conflicts(layout, manifest)
    umask = os.umask(0o022)
    try:
        if not layout.prefix.exists():
            layout.prefix.mkdir()
            manifest.record(Entry(layout.prefix, "dir"))
        _install_venv(layout, manifest, python, log)
        _install_package(layout, source, log)
        _install_plugin(layout, manifest, source, log)
        _install_config(layout, manifest, log)
        _install_link(layout, manifest, log)
    except OSError as error:
        raise InstallError(f"install stopped: {error} (run `previewer uninstall` to remove what was made)") \
            from error
    finally:
        os.umask(umask)
    log(f"Installed; manifest {layout.manifest}. Restart Orthanc to load the plugin: "
        "systemctl restart orthanc (or /etc/init.d/orthanc restart)")


def config_text() -> str:
    """The content of the installed ``previewer.json``: the default "Previewer" section."""
    section = {key: value for key, value in Config().section().items() if key != "TestModules"}
    return ("// Orthanc Previewer, written by `previewer install` (`make uninstall` removes it, unless\n"
            "// edited).  The plugin is loaded through the link libOrthancPreviewer.so in Orthanc's\n"
            "// plugin folder.  The options are described in the README, \"Configuration\", of Orthanc Previewer.\n"
            + json.dumps({SECTION: section}, indent=2) + "\n")


def _check_source(source: Path) -> None:
    for part in ("pyproject.toml", "native/build.py", "previewer/__init__.py", "static/index.html"):
        if not (source / part).is_file():
            raise InstallError(f"{source / part} is missing: `previewer install` runs from the source "
                               "tree (the clone), e.g. `make install`")


def _check_targets(layout: Layout, python: str) -> None:
    if not os.access(python, os.X_OK):
        raise InstallError(f"no Python interpreter at {python}")
    for folder in (layout.config_dir, layout.plugins_dir):
        if not folder.is_dir():
            raise InstallError(f"{folder} is not a folder: is Debian's orthanc package installed "
                               "(apt-get install orthanc)?")
    if not layout.prefix.parent.is_dir():
        raise InstallError(f"{layout.prefix.parent} does not exist")
    for folder in (layout.config_dir, layout.plugins_dir,
                   layout.prefix if layout.prefix.exists() else layout.prefix.parent):
        if not os.access(folder, os.W_OK):
            raise InstallError(f"cannot write to {folder}: run as root (sudo make install)")


def _check_conflicts(layout: Layout, manifest: Manifest) -> None:
    """Refuse, before anything is written, to take over what another hand made."""
    if not manifest.entries and layout.prefix.exists() and any(layout.prefix.iterdir()):
        raise InstallError(f"{layout.prefix} is not empty and has no {MANIFEST_NAME}: it was not made by "
                           "`previewer install`; move it away or choose another prefix")
    for path in (layout.config_file, layout.link):
        if os.path.lexists(path) and manifest.get(path) is None:
            raise InstallError(f"{path} exists and was not installed by `previewer install` (or was kept by "
                               "uninstall after an edit); move it away and run again")
    if os.path.lexists(layout.link) and not layout.link.is_symlink():
        raise InstallError(f"{layout.link} was replaced by a file since it was installed; move it away")
    for path in sorted(layout.config_dir.glob("*.json")):
        if path == layout.config_file:
            continue
        try:
            content = json.loads(strip_comments(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            raise InstallError(f"cannot read {path} ({error}); Orthanc cannot start with it either") from error
        if not isinstance(content, dict):
            continue
        if SECTION in content:
            raise InstallError(f'{path} already defines "{SECTION}", and Orthanc refuses a section defined in '
                               f"two files of {layout.config_dir}; move it out of that file and run again")
        plugins = content.get("Plugins", [])
        for item in plugins if isinstance(plugins, list) else []:
            if isinstance(item, str) and Path(item).name == LIBRARY:
                raise InstallError(f'{path} already loads a previewer plugin ("Plugins": {item}); '
                                   "remove that entry, or Orthanc would load the plugin twice")


def _install_venv(layout: Layout, manifest: Manifest, python: str, log: Log) -> None:
    manifest.record(Entry(layout.venv, "tree"))
    wanted = _interpreter(python)
    try:
        current = _interpreter(str(layout.venv_python)) if layout.venv_python.exists() else None
    except InstallError:
        current = None   # its python no longer runs (say, its base interpreter went away)
    if current == wanted:
        log(f"venv {layout.venv}: kept (Python {wanted[1]})")
        return
    if layout.venv.exists():
        shutil.rmtree(layout.venv)
    _run([python, "-m", "venv", str(layout.venv)], "creating the virtualenv")
    log(f"venv {layout.venv}: created from {python} (Python {wanted[1]})")


def _install_package(layout: Layout, source: Path, log: Log) -> None:
    """pip install of a copy of the package (not editable), so the clone's build/ is left alone."""
    with tempfile.TemporaryDirectory(prefix="previewer-install-") as tmp:
        stage = Path(tmp) / "source"
        stage.mkdir()
        shutil.copy2(source / "pyproject.toml", stage)
        # symlinks=False: previewer/static (a link to the clone's static/) is copied as files.
        shutil.copytree(source / "previewer", stage / "previewer", symlinks=False,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _run([str(layout.venv_python), "-m", "pip", "install", "--quiet", "--no-input", str(stage)],
             "installing the package into the virtualenv", cwd=Path(tmp))
    log(f"package orthanc-previewer {__version__}: installed into {layout.venv}")


def _install_plugin(layout: Layout, manifest: Manifest, source: Path, log: Log) -> None:
    if not layout.lib_dir.exists():
        layout.lib_dir.mkdir()
        manifest.record(Entry(layout.lib_dir, "dir"))
    # Always the same build folder: its path is in the debugging information,
    # so the same sources give the same plugin, and an install again changes nothing.
    manifest.record(Entry(layout.build_dir, "tree"))
    shutil.rmtree(layout.build_dir, ignore_errors=True)
    try:
        _run([str(layout.venv_python), str(source / "native" / "build.py"), str(layout.build_dir)],
             "building the plugin with the virtualenv's python", cwd=layout.prefix)
        built = (layout.build_dir / LIBRARY).read_bytes()
    finally:
        shutil.rmtree(layout.build_dir, ignore_errors=True)
    manifest.forget(layout.build_dir)
    digest = hashlib.sha256(built).hexdigest()
    if layout.plugin.is_file() and _sha256(layout.plugin) == digest:
        log(f"plugin {layout.plugin}: unchanged")
    else:
        # A new file (not a rewrite): a running Orthanc keeps the old one mapped intact.
        _write_atomically(layout.plugin, built, 0o644)
        log(f"plugin {layout.plugin}: built for {layout.venv_python}")
    manifest.record(Entry(layout.plugin, "file", sha256=digest))


def _install_config(layout: Layout, manifest: Manifest, log: Log) -> None:
    path, text = layout.config_file, config_text()
    digest = hashlib.sha256(text.encode()).hexdigest()
    entry = manifest.get(path)
    if path.exists():
        current = _sha256(path)
        if current == digest:
            log(f"configuration {path}: unchanged")
            manifest.record(Entry(path, "file", sha256=digest))
            return
        if entry is not None and current != entry.sha256:
            log(f"configuration {path}: kept, it was edited since it was installed")
            return
    _write_atomically(path, text, 0o644)
    manifest.record(Entry(path, "file", sha256=digest))
    log(f'configuration {path}: written (the "{SECTION}" section, default values)')


def _install_link(layout: Layout, manifest: Manifest, log: Log) -> None:
    link, target = layout.link, str(layout.plugin)
    if link.is_symlink() and os.readlink(link) == target:
        log(f"link {link}: unchanged")
    else:
        temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        temporary.unlink(missing_ok=True)
        os.symlink(target, temporary)
        os.replace(temporary, link)
        log(f"link {link} -> {target}: made")
    manifest.record(Entry(link, "link", target=target))


# --- uninstall ---------------------------------------------------------------------

def uninstall(prefix: Path, *, log: Log = _say) -> None:
    """Remove what the manifest in ``prefix`` lists, and nothing else; nothing to do without one."""
    manifest = Manifest.load(prefix)
    if manifest is None:
        log(f"nothing to uninstall: no {prefix / MANIFEST_NAME}")
        return
    for folder in {entry.path.parent for entry in manifest.entries.values()}:
        if folder.exists() and not os.access(folder, os.W_OK):
            raise InstallError(f"cannot write to {folder}: run as root (sudo make uninstall)")
    entries = list(reversed(manifest.entries.values()))
    try:
        for entry in entries:
            if entry.kind != "dir":
                _remove(entry, log)
        manifest.layout.manifest.unlink()
        for entry in entries:
            if entry.kind == "dir":
                _remove(entry, log)
    except OSError as error:
        raise InstallError(f"uninstall stopped: {error}") from error
    log("Uninstalled. Restart Orthanc so that it unloads the plugin: systemctl restart orthanc "
        "(or /etc/init.d/orthanc restart)")


def _remove(entry: Entry, log: Log) -> None:
    path = entry.path
    if not os.path.lexists(path):
        return
    if entry.kind == "link":
        if path.is_symlink() and os.readlink(path) == entry.target:
            path.unlink()
            log(f"removed the link {path}")
        else:
            log(f"left {path}: it is no longer the link that was installed")
    elif entry.kind == "file":
        if path.is_file() and not path.is_symlink() and _sha256(path) == entry.sha256:
            path.unlink()
            log(f"removed {path}")
        else:
            log(f"left {path}: it was changed since it was installed")
    elif entry.kind == "tree":
        shutil.rmtree(path)
        log(f"removed {path}")
    elif any(path.iterdir()):
        log(f"left {path}: it holds files that were not installed")
    else:
        path.rmdir()
        log(f"removed {path}")


# --- helpers -------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomically(path: Path, content: str | bytes, mode: int) -> None:
    """Write a new file beside ``path`` and rename it over ``path``."""
    data = content.encode() if isinstance(content, str) else content
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _clean_environment() -> dict[str, str]:
    """The caller's environment without what would make Python use another venv or path."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith("PYTHON") and key not in ("VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")}


def _run(command: list[str], what: str, cwd: Path | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=_clean_environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-40:])
        raise InstallError(f"{what} failed (exit {result.returncode}: {' '.join(command)}):\n{tail}")
    return result.stdout


def _interpreter(python: str) -> tuple[str, str]:
    """(sys.base_prefix, "major.minor") of an interpreter: a venv made from it gives the same."""
    code = "import sys; print(sys.base_prefix); print('%d.%d' % sys.version_info[:2])"
    try:
        lines = _run([python, "-c", code], f"running {python}").splitlines()
    except OSError as error:
        raise InstallError(f"cannot run {python}: {error}") from error
    return lines[0], lines[1]


# --- command line ---------------------------------------------------------------------

def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``install`` and ``uninstall`` to the ``previewer`` command's subparsers."""
    default = Layout()
    add = commands.add_parser("install", help="install the plugin for Debian's orthanc service (as root)")
    add.add_argument("--prefix", default=str(default.prefix), help="folder of the venv, the plugin and the "
                     "manifest (default %(default)s)")
    add.add_argument("--config-dir", default=str(default.config_dir),
                     help="Orthanc's configuration folder (default %(default)s)")
    add.add_argument("--plugins-dir", default=str(default.plugins_dir),
                     help='a plugin folder that the configuration lists in "Plugins" (default %(default)s)')
    add.add_argument("--python", default=DEFAULT_PYTHON, help="interpreter the venv is made from "
                     "(default %(default)s)")
    remove = commands.add_parser("uninstall", help="remove exactly what `previewer install` installed")
    remove.add_argument("--prefix", default=str(default.prefix), help="the install's prefix "
                        "(default %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Carry out ``install`` or ``uninstall``; 1 with the reason on standard error if it cannot."""
    try:
        if args.command == "install":
            layout = Layout(Path(args.prefix).absolute(), Path(args.config_dir).absolute(),
                            Path(args.plugins_dir).absolute())
            install(layout, python=args.python)
        else:
            uninstall(Path(args.prefix).absolute())
    except InstallError as error:
        print(f"previewer {args.command}: {error}", file=sys.stderr)
        return 1
    return 0
