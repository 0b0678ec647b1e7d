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
import importlib.util
import os
import sys
import sysconfig
import threading

# The file name cffi gives the embedding init code (native/init.py).
_INIT_CODE = "<init code for '_previewer_native'>"
_SKIPPED = ("<frozen ", "<previewer isolation>")


class PrivateFinder:
    """A meta path finder serving our folders to imports asked by code in them.

    ``package`` is the previewer's package folder; ``paths`` the virtualenv's
    site-packages.  Names of the standard library and built-in modules are
    never ours to serve.
    """

    def __init__(self, package, paths):
        self.package = os.path.realpath(package)
        self.paths = [os.path.realpath(p) for p in paths if os.path.isdir(p)]
        self._prefixes = tuple(p.rstrip(os.sep) + os.sep for p in [self.package, *self.paths])
        self._stdlib = tuple(
            os.path.realpath(sysconfig.get_paths()[key]).rstrip(os.sep) + os.sep
            for key in ("stdlib", "platstdlib"))
        self._never = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)
        self._kinds = {}          # code file name -> "skip", "ours" or "theirs"
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

    def _kind(self, filename):
        kind = self._kinds.get(filename)
        if kind is None:
            if filename.startswith(_SKIPPED) or os.path.realpath(filename).startswith(self._stdlib):
                kind = "skip"
            else:
                kind = "ours" if self.owns(filename) else "theirs"
            self._kinds[filename] = kind
        return kind

    def _asked_by_us(self):
        if getattr(self._local, "depth", 0):
            return True
        frame = sys._getframe(2)
        while frame is not None:
            kind = self._kind(frame.f_code.co_filename)
            if kind != "skip":
                return kind == "ours"
            frame = frame.f_back
        return False

    def _spec(self, fullname):
        if fullname == os.path.basename(self.package):
            return importlib.util.spec_from_file_location(
                fullname, os.path.join(self.package, "__init__.py"),
                submodule_search_locations=[self.package])
        return importlib.machinery.PathFinder.find_spec(fullname, self.paths)

    def find_spec(self, fullname, path=None, target=None):
        # Submodules follow their parent package's __path__ by themselves.
        if path is not None or fullname in self._never or not self._asked_by_us():
            return None
        return self._spec(fullname)

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
            if "." in name or name in self._never or not origin or self.owns(origin):
                continue
            if self._spec(name) is not None:
                shared.append(f"{name} ({origin})")
        return sorted(shared)


def install(package, paths):
    """Put one PrivateFinder first on sys.meta_path (once) and return it."""
    for finder in sys.meta_path:
        if type(finder).__name__ == "PrivateFinder":
            return finder
    finder = PrivateFinder(package, paths)
    sys.meta_path.insert(0, finder)
    return finder


def join(package, site_packages, cffi_version):
    """Install the finder for our folders and import _cffi_backend through it.

    ``site_packages`` holds one or more folders separated by os.pathsep, and
    ``cffi_version`` is the cffi the plugin was built with.  Returns the
    modules already imported from elsewhere that we will share, as one line
    of text ("" if none).  On failure the finder is removed again.
    """
    finder = install(package, site_packages.split(os.pathsep))
    try:
        shared = finder.shared_modules()
        with finder.ours():
            backend = importlib.import_module("_cffi_backend")
        if getattr(backend, "__version__", None) != cffi_version:
            raise ImportError(
                f"the running Python already has _cffi_backend {getattr(backend, '__version__', '?')} "
                f"from {getattr(backend, '__file__', '?')}, imported by the other plugin's code, but "
                f"the previewer was built with cffi {cffi_version}; install cffi {cffi_version} "
                "where the other plugin finds it, or keep its code from importing cffi")
    except BaseException:
        sys.meta_path.remove(finder)
        raise
    return ", ".join(shared)
