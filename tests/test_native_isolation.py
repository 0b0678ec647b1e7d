"""native/isolation.py: imports resolved by who asks, in a fresh interpreter each time."""
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
    """Our folder and the other plugin's, each with modules; one name exists in both (synthetic)."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for folder in (ours, theirs):
        folder.mkdir()
        (folder / "both.py").write_text(f"WHOSE = {folder.name!r}\n")
    (ours / "only_ours.py").write_text("WHOSE = 'ours'\n")
    (ours / "our_code.py").write_text(textwrap.dedent("""
        import importlib.metadata
        import both, only_ours
        DISTRIBUTIONS = sorted(d.metadata["Name"] for d in importlib.metadata.distributions())
        try:
            import only_theirs
            THEIRS = only_theirs.WHOSE
        except ImportError:
            THEIRS = None
    """))
    (theirs / "only_theirs.py").write_text("WHOSE = 'theirs'\n")
    dist = ours / "ourdist-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ourdist\nVersion: 1.0\n")
    return {"ours": ours, "theirs": theirs}


def _run(folders: dict[str, Path], body: str) -> dict[str, object]:
    """Run ``body`` after exec'ing isolation.py the way native/entry.c does; its JSON result."""
    program = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(folders["theirs"])!r})
        isolation = {{}}
        exec(compile(open({str(ISOLATION)!r}).read(), "<previewer isolation>", "exec"), isolation)
    """) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-I", "-S", "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


class TestPrivateFinder:
    def test_our_code_gets_our_module_of_a_shared_name(self, folders: dict[str, Path]) -> None:
        """Code in our folder imports our copy of a name that the other side's sys.path also has."""
        result = _run(folders, f"""
            isolation["install"]([{str(folders["ours"])!r}])
            finder = sys.meta_path[0]
            with finder.ours():
                import our_code
            print(json.dumps({{"both": our_code.both.WHOSE, "only": our_code.only_ours.WHOSE}}))
        """)
        assert result == {"both": "ours", "only": "ours"}

    def test_other_code_does_not_see_our_folder(self, folders: dict[str, Path]) -> None:
        """Code outside our folder imports from sys.path only: our module stays invisible."""
        result = _run(folders, f"""
            isolation["install"]([{str(folders["ours"])!r}])
            import importlib.util
            import both
            print(json.dumps({{"both": both.WHOSE, "sees_ours": importlib.util.find_spec("only_ours") is not None}}))
        """)
        assert result == {"both": "theirs", "sees_ours": False}

    def test_our_code_still_sees_the_interpreter_path(self, folders: dict[str, Path]) -> None:
        """A name only the interpreter's sys.path has still imports for our code (one interpreter)."""
        result = _run(folders, f"""
            isolation["install"]([{str(folders["ours"])!r}])
            with sys.meta_path[0].ours():
                import our_code
            print(json.dumps({{"theirs": our_code.THEIRS}}))
        """)
        assert result == {"theirs": "theirs"}

    def test_distributions_follow_the_asker(self, folders: dict[str, Path]) -> None:
        """importlib.metadata lists our distributions to our code only."""
        result = _run(folders, f"""
            isolation["install"]([{str(folders["ours"])!r}])
            import importlib.metadata
            outside = sorted(d.metadata["Name"] for d in importlib.metadata.distributions())
            with sys.meta_path[0].ours():
                import our_code
            print(json.dumps({{"outside": "ourdist" in outside, "inside": "ourdist" in our_code.DISTRIBUTIONS}}))
        """)
        assert result == {"outside": False, "inside": True}

    def test_shared_modules_names_what_the_other_side_imported(self, folders: dict[str, Path]) -> None:
        """A module already imported from elsewhere that our folder also provides is reported."""
        result = _run(folders, f"""
            import both
            finder = isolation["install"]([{str(folders["ours"])!r}])
            print(json.dumps({{"shared": finder.shared_modules()}}))
        """)
        shared = result["shared"]
        assert isinstance(shared, list) and len(shared) == 1 and shared[0].startswith("both (")
        assert str(folders["theirs"]) in shared[0]

    def test_install_is_once(self, folders: dict[str, Path]) -> None:
        """A second install returns the finder already first on sys.meta_path."""
        result = _run(folders, f"""
            first = isolation["install"]([{str(folders["ours"])!r}])
            second = isolation["install"]([{str(folders["ours"])!r}])
            count = sum(type(f).__name__ == "PrivateFinder" for f in sys.meta_path)
            print(json.dumps({{"same": first is second, "count": count}}))
        """)
        assert result == {"same": True, "count": 1}

    def test_submodules_are_left_to_their_package(self, folders: dict[str, Path]) -> None:
        """find_spec declines submodule lookups (a parent package's __path__ decides)."""
        result = _run(folders, f"""
            finder = isolation["install"]([{str(folders["ours"])!r}])
            with finder.ours():
                spec = finder.find_spec("both.sub", path=[{str(folders["ours"])!r}])
                top = finder.find_spec("both")
            print(json.dumps({{"sub": spec is None, "top": top.origin}}))
        """)
        assert result == {"sub": True, "top": str(folders["ours"] / "both.py")}

    def test_join_imports_cffi_backend_from_our_folders(self, folders: dict[str, Path]) -> None:
        """join() finds _cffi_backend in our site-packages although the interpreter's path lacks it."""
        import _cffi_backend
        site = str(Path(_cffi_backend.__file__).parent)
        result = _run(folders, f"""
            text = isolation["join"]({str(folders["ours"])!r}, {site!r})
            import _cffi_backend
            print(json.dumps({{"text": text, "file": _cffi_backend.__file__}}))
        """)
        assert result["file"] == _cffi_backend.__file__
        assert result["text"] == ""
