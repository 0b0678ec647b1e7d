"""native/isolation.py: imports resolved by who asks, in a fresh bare interpreter each time."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ISOLATION = Path(__file__).resolve().parent.parent / "native" / "isolation.py"


@pytest.fixture()
def folders(tmp_path: Path) -> dict[str, Path]:
    """Synthetic folders: our package and site-packages, and the other side's sys.path entry."""
    site, package, theirs = tmp_path / "site", tmp_path / "src" / "ourpkg", tmp_path / "theirs"
    for folder in (site, package, theirs):
        folder.mkdir(parents=True)
    for folder in (site, theirs):
        (folder / "both.py").write_text(f"WHOSE = {folder.name!r}\n")
    (site / "only_ours.py").write_text("WHOSE = 'ours'\n")
    (site / "colorsys.py").write_text("WHOSE = 'a decoy of a standard module'\n")
    (site / "our_code.py").write_text(textwrap.dedent("""
        import importlib, importlib.metadata
        import both, colorsys, only_ours, ourpkg
        DISTRIBUTIONS = sorted(d.metadata["Name"] for d in importlib.metadata.distributions())
        DYNAMIC = importlib.import_module("only_ours").WHOSE
        try:
            import only_theirs
            THEIRS = only_theirs.WHOSE
        except ImportError:
            THEIRS = None
    """))
    (site / "entry.py").write_text("# the name under which the tests run our code\n")
    dist = site / "ourdist-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ourdist\nVersion: 1.0\n")
    (package / "__init__.py").write_text("WHOSE = 'ours'\n")
    (theirs / "only_theirs.py").write_text("WHOSE = 'theirs'\n")
    (theirs / "ourpkg.py").write_text("WHOSE = 'theirs'\n")
    return {"site": site, "package": package, "theirs": theirs}


def _run(folders: dict[str, Path], body: str) -> dict[str, object]:
    """Run ``body`` after exec'ing isolation.py as native/entry.c does; its JSON result.

    ``OURS(source)`` runs code under the file name of a module in our
    site-packages, so that the finder's frame walk (not a test switch) decides.
    """
    program = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(folders["theirs"])!r})
        isolation = {{}}
        exec(compile(open({str(ISOLATION)!r}).read(), "<previewer isolation>", "exec"), isolation)
        PACKAGE, SITE = {str(folders["package"])!r}, {str(folders["site"])!r}
        def OURS(source):
            scope = {{}}
            exec(compile(source, {str(folders["site"] / "entry.py")!r}, "exec"), scope)
            return scope
    """) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-I", "-S", "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


class TestPrivateFinder:
    def test_our_code_gets_our_modules(self, folders: dict[str, Path]) -> None:
        """Our code imports our copy of a shared name, our package over a same-named module, and dynamic imports."""
        result = _run(folders, """
            isolation["install"](PACKAGE, [SITE])
            code = OURS("import our_code")["our_code"]
            print(json.dumps({"both": code.both.WHOSE, "only": code.only_ours.WHOSE,
                              "package": code.ourpkg.WHOSE, "dynamic": code.DYNAMIC}))
        """)
        assert result == {"both": "site", "only": "ours", "package": "ours", "dynamic": "ours"}

    def test_standard_names_are_never_ours(self, folders: dict[str, Path]) -> None:
        """A standard-library name in our folders never shadows the standard module, even for our code."""
        result = _run(folders, """
            isolation["install"](PACKAGE, [SITE])
            code = OURS("import our_code")["our_code"]
            print(json.dumps({"decoy": hasattr(code.colorsys, "WHOSE"), "real": hasattr(code.colorsys, "rgb_to_hsv")}))
        """)
        assert result == {"decoy": False, "real": True}

    def test_other_code_does_not_see_our_folders(self, folders: dict[str, Path]) -> None:
        """Code outside our folders imports from sys.path only: our modules stay invisible."""
        result = _run(folders, """
            isolation["install"](PACKAGE, [SITE])
            import importlib.util
            import both, ourpkg
            print(json.dumps({"both": both.WHOSE, "package": ourpkg.WHOSE,
                              "sees_ours": importlib.util.find_spec("only_ours") is not None}))
        """)
        assert result == {"both": "theirs", "package": "theirs", "sees_ours": False}

    def test_our_code_still_sees_the_interpreter_path(self, folders: dict[str, Path]) -> None:
        """A name only the interpreter's sys.path has still imports for our code (one interpreter)."""
        result = _run(folders, """
            isolation["install"](PACKAGE, [SITE])
            print(json.dumps({"theirs": OURS("import our_code")["our_code"].THEIRS}))
        """)
        assert result == {"theirs": "theirs"}

    def test_distributions_follow_the_asker(self, folders: dict[str, Path]) -> None:
        """importlib.metadata lists our distributions to our code only."""
        result = _run(folders, """
            isolation["install"](PACKAGE, [SITE])
            import importlib.metadata
            outside = sorted(d.metadata["Name"] for d in importlib.metadata.distributions())
            inside = OURS("import our_code")["our_code"].DISTRIBUTIONS
            print(json.dumps({"outside": "ourdist" in outside, "inside": "ourdist" in inside}))
        """)
        assert result == {"outside": False, "inside": True}

    def test_imports_from_c_count_as_ours_inside_ours(self, folders: dict[str, Path]) -> None:
        """With no caller of ours on the stack, ours() makes an import ours (as entry.c's join does)."""
        result = _run(folders, """
            finder = isolation["install"](PACKAGE, [SITE])
            import importlib
            with finder.ours():
                inside = importlib.import_module("only_ours").WHOSE
            print(json.dumps({"inside": inside}))
        """)
        assert result == {"inside": "ours"}

    def test_shared_modules_names_what_the_other_side_imported(self, folders: dict[str, Path]) -> None:
        """A module already imported from elsewhere that our folders also provide is reported."""
        result = _run(folders, """
            import both
            finder = isolation["install"](PACKAGE, [SITE])
            print(json.dumps({"shared": finder.shared_modules()}))
        """)
        shared = result["shared"]
        assert isinstance(shared, list) and len(shared) == 1 and shared[0].startswith("both (")
        assert str(folders["theirs"]) in shared[0]

    def test_install_is_once(self, folders: dict[str, Path]) -> None:
        """A second install returns the finder already first on sys.meta_path."""
        result = _run(folders, """
            first = isolation["install"](PACKAGE, [SITE])
            second = isolation["install"](PACKAGE, [SITE])
            count = sum(type(f).__name__ == "PrivateFinder" for f in sys.meta_path)
            print(json.dumps({"same": first is second, "count": count}))
        """)
        assert result == {"same": True, "count": 1}

    def test_submodules_are_left_to_their_package(self, folders: dict[str, Path]) -> None:
        """find_spec declines submodule lookups (a parent package's __path__ decides)."""
        result = _run(folders, """
            finder = isolation["install"](PACKAGE, [SITE])
            with finder.ours():
                sub = finder.find_spec("both.sub", path=[SITE])
                top = finder.find_spec("both")
            print(json.dumps({"sub": sub is None, "top": top.origin}))
        """)
        assert result == {"sub": True, "top": str(folders["site"] / "both.py")}


class TestJoin:
    def test_imports_cffi_backend_from_our_folders(self, folders: dict[str, Path]) -> None:
        """join() finds _cffi_backend in our site-packages although the interpreter's path lacks it."""
        import _cffi_backend
        site = str(Path(_cffi_backend.__file__).parent)
        result = _run(folders, f"""
            text = isolation["join"](PACKAGE, {site!r}, {_cffi_backend.__version__!r})
            import _cffi_backend
            print(json.dumps({{"text": text, "file": _cffi_backend.__file__}}))
        """)
        assert result == {"text": "", "file": _cffi_backend.__file__}

    def test_other_cffi_version_fails_and_leaves_no_finder(self, folders: dict[str, Path]) -> None:
        """A _cffi_backend of another version is refused with a message naming both; the finder goes."""
        import _cffi_backend
        site = str(Path(_cffi_backend.__file__).parent)
        result = _run(folders, f"""
            try:
                isolation["join"](PACKAGE, {site!r}, "0.0.1")
                error = ""
            except ImportError as failure:
                error = str(failure)
            count = sum(type(f).__name__ == "PrivateFinder" for f in sys.meta_path)
            print(json.dumps({{"error": error, "count": count}}))
        """)
        assert "0.0.1" in str(result["error"]) and _cffi_backend.__version__ in str(result["error"])
        assert result["count"] == 0
