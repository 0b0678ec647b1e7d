# Imports resolved by who asks, for a previewer that joins a Python another
# plugin started (Debian's orthanc-python).  native/entry.c runs this text,
# embedded in libOrthancPreviewer.so by native/build.py, before any other
# code of ours, and only when it joins; when the previewer starts Python
# itself, its virtualenv is simply that interpreter's sys.path.
#
# The interpreter's sys.path stays the other plugin's.  One finder, first on
# sys.meta_path, answers top-level imports asked by the previewer's own code
# (its package and its virtualenv's packages) from the previewer's folders,
# and steps aside for every other asker, so the other plugin's scripts never
# find the previewer's virtualenv, and a module next to their script never
# shadows one of ours.  importlib.metadata (pylibjpeg finds its decoders
# through entry points) gets the same treatment.  One interpreter has one
# sys.modules: a module both sides import is shared, first import wins;
# shared_modules() names those at the moment we join.
import importlib
import importlib.machinery
import importlib.metadata
import os
import sys
import sysconfig
import threading

# The file name cffi gives the embedding init code (native/init.py).
_INIT_CODE = "<init code for '_previewer_native'>"
_SKIPPED = ("<frozen ", "<previewer isolation>")


class PrivateFinder:
    """A meta path finder serving ``paths`` to imports asked by code under ``paths``."""

    def __init__(self, paths):
        self.paths = [os.path.realpath(p) for p in paths if os.path.isdir(p)]
        self._prefixes = tuple(p.rstrip(os.sep) + os.sep for p in self.paths)
        self._stdlib = tuple(
            os.path.realpath(sysconfig.get_paths()[key]).rstrip(os.sep) + os.sep
            for key in ("stdlib", "platstdlib"))
        self._local = threading.local()

    def ours(self):
        """A context in which imports count as ours (for imports asked from C)."""
        finder = self

        class _Ours:
            def __enter__(self):
                finder._local.depth = getattr(finder._local, "depth", 0) + 1

            def __exit__(self, *exc):
                finder._local.depth -= 1

        return _Ours()

    def owns(self, filename):
        """True for a file of the previewer's package or virtualenv."""
        return filename == _INIT_CODE or os.path.realpath(filename).startswith(self._prefixes)

    def _asked_by_us(self):
        if getattr(self._local, "depth", 0):
            return True
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(_SKIPPED) or os.path.realpath(name).startswith(self._stdlib):
                frame = frame.f_back
                continue
            return self.owns(name)
        return False

    def find_spec(self, fullname, path=None, target=None):
        # Submodules follow their parent package's __path__ by themselves.
        if path is not None or not self._asked_by_us():
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, self.paths)

    def find_distributions(self, context=importlib.metadata.DistributionFinder.Context()):
        if not self._asked_by_us():
            return iter(())
        private = importlib.metadata.DistributionFinder.Context(name=context.name, path=self.paths)
        return importlib.machinery.PathFinder.find_distributions(private)

    def shared_modules(self):
        """Top-level modules already imported from elsewhere that our folders also provide."""
        shared = []
        for name, module in list(sys.modules.items()):
            origin = getattr(module, "__file__", None)
            if "." in name or not origin or self.owns(origin):
                continue
            if importlib.machinery.PathFinder.find_spec(name, self.paths) is not None:
                shared.append(f"{name} ({origin})")
        return sorted(shared)


def install(paths):
    """Put one PrivateFinder first on sys.meta_path (once) and return it."""
    for finder in sys.meta_path:
        if type(finder).__name__ == "PrivateFinder":
            return finder
    finder = PrivateFinder(paths)
    sys.meta_path.insert(0, finder)
    return finder


def join(package_dir, site_packages):
    """Install the finder for our folders and import _cffi_backend through it.

    ``site_packages`` holds one or more folders separated by os.pathsep.
    Returns the modules already imported from elsewhere that we will share,
    as one line of text ("" if none).
    """
    finder = install([package_dir, *site_packages.split(os.pathsep)])
    shared = finder.shared_modules()
    with finder.ours():
        importlib.import_module("_cffi_backend")
    return ", ".join(shared)
