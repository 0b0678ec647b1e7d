"""Build libOrthancPreviewer.so with cffi's embedding mode.

Reads the declarations in native/*.h, the C entry points in native/entry.c and
the start-up code in native/init.py, and compiles them; nothing else.
Usage: python native/build.py [OUTPUT_DIR]
"""
from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import cffi

NATIVE = Path(__file__).resolve().parent
ROOT = NATIVE.parent
LIBRARY = "libOrthancPreviewer.so"


def _version() -> str:
    for line in (ROOT / "pyproject.toml").read_text().splitlines():
        if line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("no version in pyproject.toml")


def _c_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def builder() -> cffi.FFI:
    libdir = sysconfig.get_config_var("LIBDIR")
    soname = sysconfig.get_config_var("INSTSONAME")
    # The venv's own python, not the interpreter it links to: Python finds
    # pyvenv.cfg beside it.  sys.executable is already that path in a venv.
    venv_python = os.path.abspath(sys.executable)
    ffi = cffi.FFI()
    ffi.cdef((NATIVE / "orthanc_sdk.h").read_text())
    ffi.cdef((NATIVE / "callbacks.h").read_text())
    ffi.embedding_api((NATIVE / "embedding.h").read_text())
    ffi.set_source(
        "_previewer_native",
        (NATIVE / "entry.c").read_text(),
        define_macros=[
            ("PREVIEWER_VERSION", _c_string(_version())),
            ("PREVIEWER_VENV_PYTHON", _c_string(venv_python)),
            ("PREVIEWER_LIBPYTHON", _c_string(os.path.join(libdir, soname))),
            ("PREVIEWER_LIBPYTHON_SONAME", _c_string(soname)),
        ],
        extra_compile_args=["-O2", "-Wall", "-Wno-unused-function"],
        extra_link_args=["-Wl,-rpath," + libdir, "-ldl"],
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
