"""The one module that imports the compiled plugin library.

``_previewer_native`` exists only inside Orthanc, where cffi's embedding
start-up registers it; everything else imports ``ffi`` and ``lib`` from here.
"""
from _previewer_native import ffi, lib

__all__ = ["ffi", "lib"]
