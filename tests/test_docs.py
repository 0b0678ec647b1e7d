"""The reference in docs/ and the README's tables agree with the code."""
from __future__ import annotations

import re
from pathlib import Path

from previewer.config import Config
from previewer.plugin import table
from previewer.plugin.endpoints.links import Resolver
from previewer.plugin.store import Store

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
API = ROOT / "docs" / "API.md"


def _paths() -> list[str]:
    """Every route path of the table, written as the docs write it (no converters)."""
    resolver = Resolver(lookup={}, rest_get=lambda uri: b"{}", rest_post=lambda uri, body: b"[]")
    store = Store(dicom=lambda _: b"", version=lambda _: None)
    routes = table.routes(store, lambda uri: b"{}", resolver)
    return [re.sub(r"{(\w+):\w+}", r"{\1}", route.path) for route in routes]


def _table_keys(text: str) -> set[str]:
    """The first-column keys, in backticks, of the markdown table rows in ``text``."""
    return set(re.findall(r"^\|\s*`([A-Za-z]+)`\s*\|", text, re.M))


def test_every_route_is_in_the_api_reference() -> None:
    """Each route of the table appears in docs/API.md, in backticks."""
    text = API.read_text()
    missing = [path for path in _paths() if f"`{path}`" not in text]
    assert missing == []


def test_every_configuration_key_is_in_the_readme_table() -> None:
    """Each key of the "Previewer" section is a row of the README's configuration table."""
    keys = set(Config().section())
    assert keys and keys <= _table_keys(README.read_text())


def test_readme_is_a_front_door() -> None:
    """The README stays short (the reference lives in docs/) and links every document there."""
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    for name in ("INSTALL.md", "API.md", "VIEWER.md", "OPERATIONS.md", "ARCHITECTURE.md", "COMPAT.md"):
        assert (ROOT / "docs" / name).is_file() and f"docs/{name}" in text


def test_the_checks_can_fail() -> None:
    """The helpers find what is there and nothing else."""
    assert _table_keys("| `CacheSizeMB` | 256 |\n| not a key | x |\n") == {"CacheSizeMB"}
    assert "/previewer/instances/{id}/frames/{frame}/png" in _paths()
