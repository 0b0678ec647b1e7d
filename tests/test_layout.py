"""The package's layout: two programs in two folders, and imports that flow one way."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "previewer"

#: For each folder of the package, the folders it must never import.
FORBIDDEN = {
    "serve": ("previewer.plugin",),
    "pixels": ("previewer.plugin", "previewer.serve", "previewer.objects"),   # objects build on pixels
    "objects": ("previewer.plugin", "previewer.serve"),
    "plugin": ("previewer.serve",),
    "": ("previewer.plugin", "previewer.serve"),   # config.py, series.py: shared by both programs
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # ``from . import sdk`` imports a module too.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "static" not in path.relative_to(PACKAGE).parts)


def _folder(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else ""


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path: Path) -> None:
    """No module imports a folder that its own folder must not reach."""
    banned = FORBIDDEN[_folder(path)]
    wrong = sorted(module for module in imports(path) if module.startswith(banned))
    assert wrong == [], f"{path.relative_to(PACKAGE)} imports {wrong}"


def test_only_ffi_imports_the_compiled_module() -> None:
    """The compiled module is imported in exactly one place, previewer/plugin/_ffi.py."""
    users = [path.relative_to(PACKAGE).as_posix() for path in _modules()
             if any(module.startswith("_previewer_native") for module in imports(path))]
    assert users == ["plugin/_ffi.py"]


def test_few_top_level_modules() -> None:
    """At most five modules stay at the package's top level; the rest live in the folders."""
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 5, top


def test_assets_belong_to_their_program() -> None:
    """explorer.js is the plugin's, nginx.conf.template the tooling's."""
    assert (PACKAGE / "plugin" / "explorer.js").is_file()
    assert (PACKAGE / "serve" / "nginx.conf.template").is_file()
    assert not (PACKAGE / "assets").exists()


def test_resolution_of_relative_imports() -> None:
    """The checker itself: a relative import two levels up names the shared module."""
    assert "previewer.config" in imports(PACKAGE / "serve" / "cli.py")
    assert "previewer.plugin.sdk" in imports(PACKAGE / "plugin" / "main.py")
