"""Build libOrthancPreviewer.so with cffi's embedding mode.

Reads the declarations in native/*.h, the C sources (native/entry.c, the
Orthanc entry points; native/json_scan.c, native/plugin_scan.c,
native/python_start.c, native/events.c and native/gather.c, compiled as one unit after
native/entry.h and native/internal.h), the start-up code in native/init.py and
native/isolation.py, and the Orthanc Explorer extension
(previewer/plugin/explorer.js), and compiles them; nothing else.
Usage: python native/build.py [OUTPUT_DIR]
"""
from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
from pathlib import Path

import cffi

NATIVE = Path(__file__).resolve().parent
ROOT = NATIVE.parent
LIBRARY = "libOrthancPreviewer.so"
EXPLORER_JS = ROOT / "previewer" / "plugin" / "explorer.js"
# One unit, in this order, after cffi's <Python.h> (native/internal.h).
SOURCES = ("entry.h", "internal.h",
           "entry.c", "json_scan.c", "plugin_scan.c", "python_start.c", "events.c", "gather.c")


def _version() -> str:
    for line in (ROOT / "pyproject.toml").read_text().splitlines():
        if line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("no version in pyproject.toml")


def _c_string(value: str) -> str:
    """A C string literal of ``value``'s UTF-8 bytes (any text: code, paths)."""
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if char in '"\\?':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _package_dir() -> str:
    """The ``previewer`` package folder the venv imports (the clone's, when editable)."""
    spec = importlib.util.find_spec("previewer")
    if spec is None or not spec.submodule_search_locations:
        return str(ROOT / "previewer")
    return str(Path(list(spec.submodule_search_locations)[0]).resolve())


def _site_packages() -> str:
    folders = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    return os.pathsep.join(folders)


def builder() -> cffi.FFI:
    libdir = sysconfig.get_config_var("LIBDIR")
    soname = sysconfig.get_config_var("INSTSONAME")
    # The venv's own python, not the interpreter it links to: Python finds
    # pyvenv.cfg beside it.  sys.executable is already that path in a venv.
    venv_python = os.path.abspath(sys.executable)
    ffi = cffi.FFI()
    ffi.cdef((NATIVE / "orthanc_sdk.h").read_text())
    ffi.cdef((NATIVE / "callbacks.h").read_text())
    ffi.cdef((NATIVE / "entry.h").read_text())
    ffi.embedding_api((NATIVE / "embedding.h").read_text())
    defines = {
        "PREVIEWER_VERSION": _version(),
        "PREVIEWER_VENV_PYTHON": venv_python,
        "PREVIEWER_LIBPYTHON": os.path.join(libdir, soname),
        "PREVIEWER_LIBPYTHON_SONAME": soname,
        "PREVIEWER_MULTIARCH": sysconfig.get_config_var("MULTIARCH") or "",
        "PREVIEWER_PACKAGE_DIR": _package_dir(),
        "PREVIEWER_SITE_PACKAGES": _site_packages(),
        "PREVIEWER_CFFI_VERSION": cffi.__version__,
        "PREVIEWER_ISOLATION_CODE": (NATIVE / "isolation.py").read_text(),
        "PREVIEWER_EXPLORER_JS": EXPLORER_JS.read_text(encoding="utf-8"),
    }
    # In the source rather than on the compiler's command line: two are whole files.
    header = "".join(f"#define {name} {_c_string(value)}\n" for name, value in defines.items())
    ffi.set_source(
        "_previewer_native",
        header + "".join((NATIVE / name).read_text() for name in SOURCES),
        extra_compile_args=["-O2", "-Wall", "-Wno-unused-function", "-Wno-format-truncation"],
        extra_link_args=["-Wl,-rpath," + libdir, "-ldl", "-lpthread", "-lm"],
    )
    ffi.embedding_init_code((NATIVE / "init.py").read_text())
    return ffi


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build"
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "tmp"
    target = builder().compile(tmpdir=str(tmp), target=str((out / LIBRARY).resolve()), verbose=False)
    print(Path(target).resolve())


if __name__ == "__main__":
    main()
