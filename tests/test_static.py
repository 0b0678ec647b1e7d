"""The viewer's static files and the redirects to its page, without Orthanc."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from previewer.plugin import table
from previewer.plugin.endpoints import static
from previewer.plugin.endpoints.links import Resolver
from previewer.plugin.http import HttpError, Request, Response, Router
from previewer.plugin.store import Store, UnknownResource

STATIC = static.STATIC_ROOT


def _nothing(uri: str) -> bytes:
    raise UnknownResource(uri)


def _router(static_root: Path = STATIC) -> Router:
    """The plugin's whole route table over an empty Orthanc."""
    resolver = Resolver(lookup={}, rest_get=_nothing, rest_post=lambda uri, body: b"[]")
    store = Store(dicom=_nothing, version=lambda _: None)
    return Router(table.routes(store, _nothing, resolver, static_root=static_root), print)


def _static(root: Path, path: str, headers: dict[str, str] | None = None) -> Response:
    return static.static_file(root, Request("GET", "/previewer/" + path, {"path": path}, {}, headers or {}))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A static folder beside files that must never be served."""
    root = tmp_path / "static"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><p>index</p>")
    (root / "app.js").write_text("export const x = 1;\n")
    (root / "style.css").write_text("p { color: red }\n")
    (root / "icon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / ".hidden.js").write_text("secret\n")
    (root / "notes.bak").write_text("secret\n")
    (root / "sub").mkdir()
    (root / "sub" / "deep.js").write_text("export {};\n")
    (tmp_path / "secret.txt").write_text("secret\n")
    (tmp_path / "static-other").mkdir()
    (tmp_path / "static-other" / "x.js").write_text("secret\n")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    return root



class TestContainedFile:
    @pytest.mark.parametrize("path", ["index.html", "app.js", "sub/deep.js", "./app.js", "sub/../app.js"])
    def test_files_inside_are_found(self, site: Path, path: str) -> None:
        """Paths that resolve inside the folder are served."""
        assert static.contained_file(site, path).is_file()

    @pytest.mark.parametrize("path", [
        "../secret.txt", "sub/../../secret.txt", "../static-other/x.js", "/etc/passwd",
        "//etc/passwd", "../" * 20 + "etc/passwd",
    ])
    def test_paths_outside_are_404(self, site: Path, path: str) -> None:
        """A path that resolves outside the folder is refused before anything is opened."""
        with pytest.raises(HttpError) as error:
            static.contained_file(site, path)
        assert error.value.status == 404

    @pytest.mark.parametrize("path", [
        "%2e%2e/secret.txt", "%2E%2E%2Fsecret.txt", "..%2fsecret.txt", "..\\secret.txt", "app.js\x00.html",
    ])
    def test_encoded_paths_are_not_decoded_again(self, site: Path, path: str) -> None:
        """Orthanc has already decoded the URI: %-sequences, backslashes and NULs are not paths."""
        with pytest.raises(HttpError) as error:
            static.contained_file(site, path)
        assert error.value.status == 404

    def test_symbolic_link_out_is_404(self, site: Path) -> None:
        """A link inside the folder to a file outside is resolved first, then refused."""
        with pytest.raises(HttpError):
            static.contained_file(site, "link.txt")

    @pytest.mark.parametrize("path", [".hidden.js", "notes.bak", "sub", "missing.js", ""])
    def test_hidden_unknown_missing_and_folders_are_404(self, site: Path, path: str) -> None:
        """Hidden names, unknown extensions, folders and missing files are not served."""
        with pytest.raises(HttpError):
            static.contained_file(site, path)


class TestStaticFile:
    @pytest.mark.parametrize(("path", "media_type"), [
        ("index.html", "text/html; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ])
    def test_media_types(self, site: Path, path: str, media_type: str) -> None:
        """Each file goes out with the media type of its extension."""
        response = _static(site, path)
        assert response.status == 200
        assert response.media_type == media_type
        assert response.body == (site / path).read_bytes()

    def test_empty_path_is_index(self, site: Path) -> None:
        """The folder itself answers index.html."""
        assert _static(site, "").body == (site / "index.html").read_bytes()

    def test_headers(self, site: Path) -> None:
        """ETag, Cache-Control: no-cache, a CSP without inline script, and nosniff."""
        headers = _static(site, "app.js").headers
        assert re.fullmatch(r'"[0-9a-f]{32}"', headers["ETag"])
        assert headers["Cache-Control"] == "no-cache"
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff"

    def test_etag_follows_content(self, site: Path) -> None:
        """The ETag changes when the file does."""
        before = _static(site, "app.js").headers["ETag"]
        (site / "app.js").write_text("export const x = 2;\n")
        assert _static(site, "app.js").headers["ETag"] != before

    @pytest.mark.parametrize("header", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
    def test_if_none_match_gives_304(self, site: Path, header: str) -> None:
        """A matching If-None-Match answers 304 with no body and the same ETag."""
        etag = _static(site, "app.js").headers["ETag"]
        response = _static(site, "app.js", {"if-none-match": header.format(etag=etag)})
        assert response.status == 304
        assert response.body == b""
        assert response.headers["ETag"] == etag

    def test_other_etag_gives_200(self, site: Path) -> None:
        """A stale ETag gets the file."""
        assert _static(site, "app.js", {"if-none-match": '"0123"'}).status == 200

    def test_traversal_is_404(self, site: Path) -> None:
        """The endpoint refuses an escaping path with a JSON 404 (through the router)."""
        router = _router(site)
        response = router.handle("GET", "/previewer/../secret.txt", {}, {})
        assert response.status == 404
        assert b"secret" not in response.body.replace(b"secret.txt", b"")
        assert json.loads(response.body)["error"].startswith("no viewer file")


    def test_missing_viewer_file_keeps_its_name(self, site: Path) -> None:
        """A path of a viewer file type that is not there is a missing viewer file."""
        response = _router(site).handle("GET", "/previewer/nothere.js", {}, {})
        assert response.status == 404
        assert json.loads(response.body)["error"] == "no viewer file 'nothere.js'"

    def test_path_of_no_viewer_file_type_is_an_unknown_route(self, site: Path) -> None:
        """A path no route matches and no viewer file could have is a 404 naming the route."""
        response = _router(site).handle("GET", "/previewer/series/abc/nosuchroute", {}, {})
        assert response.status == 404
        body = json.loads(response.body)
        assert body["route"] == "/previewer/series/abc/nosuchroute"
        assert body["error"].startswith("unknown route GET /previewer/series/abc/nosuchroute:")


class TestRedirects:
    def test_bare_prefix_redirects_relatively(self) -> None:
        """/previewer goes to previewer/index.html, relative, so a path prefix is kept."""
        response = static.redirect_to_index(Request("GET", "/previewer", {}, {}, {}))
        assert (response.status, response.location) == (301, "previewer/index.html")

    def test_second_hop_from_trailing_slash(self, site: Path) -> None:
        """From /previewer/ the first hop lands on previewer/previewer/index.html, sent back to ../index.html."""
        response = _static(site, "previewer/index.html")
        assert (response.status, response.location) == (301, "../index.html")

    @pytest.mark.parametrize(("page", "expected"), [
        ("http://h/previewer", "http://h/previewer/index.html"),
        ("http://h/previewer/", "http://h/previewer/index.html"),
        ("http://h/pacs/previewer", "http://h/pacs/previewer/index.html"),
        ("http://h/pacs/previewer/", "http://h/pacs/previewer/index.html"),
    ])
    def test_both_hops_reach_the_page_under_any_prefix(self, page: str, expected: str) -> None:
        """Following the redirects as a browser does ends on the page, with or without a prefix."""
        from urllib.parse import urljoin, urlsplit

        router = _router()
        url = page
        for _ in range(3):
            path = urlsplit(url).path
            path = path.removeprefix("/pacs")
            flat = "/" + "/".join(part for part in path.split("/") if part)   # what Orthanc hands plugins
            response = router.handle("GET", flat, {}, {})
            if response.status != 301:
                break
            url = urljoin(url, response.location)
        assert url == expected
        assert response.status == 200 and response.media_type.startswith("text/html")


class TestShippedFiles:
    """The real static/ folder keeps the promises the CSP and the proxies rely on."""

    FILES = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file())

    def test_every_file_is_served(self) -> None:
        """Every shipped file has a known media type and is served."""
        assert "index.html" in self.FILES and "viewer.css" in self.FILES
        for name in self.FILES:
            assert _static(STATIC, name).status == 200, name

    def test_index_has_no_inline_script_handler_or_style(self) -> None:
        """index.html loads its script and style from files only."""
        html = (STATIC / "index.html").read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert 'src="' in tag, tag
        assert re.search(r"<script\b[^>]*>(?!</script>)", html) is None, "inline script"
        assert re.search(r"\son[a-z]+\s*=", html) is None, "inline event handler"
        assert re.search(r"\sstyle\s*=", html) is None and "<style" not in html, "inline style"

    @pytest.mark.parametrize("name", [n for n in FILES if n.endswith(".js")])
    def test_scripts_use_relative_urls_and_no_html_parsing(self, name: str) -> None:
        """Modules import relatively, reach no absolute path, and never parse strings as HTML."""
        source = (STATIC / name).read_text()
        for module in re.findall(r"\bfrom\s+'([^']+)'", source):
            assert module.startswith("./"), f"{name}: import {module}"
        assert re.search(r"""(fetch\(|href:\s*|src\s*=\s*)[`'"]/""", source) is None, f"{name}: absolute URL"
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in source, f"{name} uses {sink}"
        assert ".style.cssText" not in source and "setAttribute('style'" not in source
