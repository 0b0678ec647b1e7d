"""The viewer's static files and JSON API, with an Orthanc REST API that is not Orthanc."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from previewer import viewer
from previewer.routes import HttpError, Request, Response, Router

STATIC = viewer.STATIC_ROOT

PATIENT_A = "a0000000-00000000-00000000-00000000-00000001"
PATIENT_B = "a0000000-00000000-00000000-00000000-00000002"
STUDY_CT = "b0000000-00000000-00000000-00000000-00000001"
STUDY_MR = "b0000000-00000000-00000000-00000000-00000002"
STUDY_OLD = "b0000000-00000000-00000000-00000000-00000003"
SERIES_AXIAL = "c0000000-00000000-00000000-00000000-00000001"
SERIES_SCOUT = "c0000000-00000000-00000000-00000000-00000002"
SERIES_MR = "c0000000-00000000-00000000-00000000-00000003"
SERIES_OLD = "c0000000-00000000-00000000-00000000-00000004"
UNKNOWN = "ffffffff-ffffffff-ffffffff-ffffffff-ffffffff"
AXIAL = "1,0,0\\0,1,0"   # row and column direction cosines: normal +z


def _instance_id(series: int, number: int) -> str:
    return f"d0000000-00000000-00000000-{series:08d}-{number:08d}"


def _uid(instance_id: str) -> str:
    """A SOP Instance UID for a fake instance: its series and number digits after a root."""
    series, number = instance_id.rsplit("-", 2)[1:]
    return f"1.2.826.0.1.{int(series)}{number}"


def _instance(instance_id: str, series_id: str, number: int | None, position: str | None = None,
              orientation: str | None = AXIAL, frames: int | None = None, index: int = 0) -> dict[str, Any]:
    tags: dict[str, str] = {"SOPInstanceUID": _uid(instance_id)}
    if number is not None:
        tags["InstanceNumber"] = str(number)
    if position is not None:
        tags["ImagePositionPatient"] = position
    if orientation is not None and position is not None:
        tags["ImageOrientationPatient"] = orientation.replace(",", "\\")
    if frames is not None:
        tags["NumberOfFrames"] = str(frames)
    return {"ID": instance_id, "ParentSeries": series_id, "IndexInSeries": index, "MainDicomTags": tags,
            "Type": "Instance"}


class FakeOrthanc:
    """Orthanc's REST API over a small fixed database: two patients, three studies.

    Patient A has a CT study (an axial series whose Instance Numbers grow
    from head to feet, i.e. against +z, and a one-image scout) and an older
    MR study; patient B has an MR study with one multi-frame instance.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.studies = [
            self._study(STUDY_CT, PATIENT_A, "DOE^JANE", "PID-1", "20240305", "CHEST CT", "ACC1", [SERIES_AXIAL, SERIES_SCOUT]),
            self._study(STUDY_OLD, PATIENT_A, "DOE^JANE", "PID-1", "20190102", "HEAD MR", "", [SERIES_OLD]),
            self._study(STUDY_MR, PATIENT_B, "ROE^RICHARD", "PID-2", "20230615", "KNEE", "ACC2", [SERIES_MR]),
        ]
        self.series = [
            self._series(SERIES_AXIAL, STUDY_CT, "CT", "2", "Axial 5mm"),
            self._series(SERIES_SCOUT, STUDY_CT, "CT", "1", "Scout"),
            self._series(SERIES_OLD, STUDY_OLD, "MR", "3", "T2 axial"),
            self._series(SERIES_MR, STUDY_MR, "MR", "7", "Cine"),
        ]
        # Arrival order scrambled; Instance Numbers 1..4 run from z=0 down to z=-15.
        self.instances = [
            _instance(_instance_id(1, 3), SERIES_AXIAL, 3, "0\\0\\-10", index=1),
            _instance(_instance_id(1, 1), SERIES_AXIAL, 1, "0\\0\\0", index=2),
            _instance(_instance_id(1, 4), SERIES_AXIAL, 4, "0\\0\\-15", index=3),
            _instance(_instance_id(1, 2), SERIES_AXIAL, 2, "0\\0\\-5", index=4),
            _instance(_instance_id(2, 1), SERIES_SCOUT, 1, "0\\-200\\0", "1,0,0\\0,0,-1"),
            _instance(_instance_id(3, 1), SERIES_OLD, 1),
            _instance(_instance_id(4, 1), SERIES_MR, 1, frames=10),
        ]
        for study in self.studies:
            study["Series"] = [s["ID"] for s in self.series if s["ParentStudy"] == study["ID"]]
        for series in self.series:
            series["Instances"] = [i["ID"] for i in self.instances if i["ParentSeries"] == series["ID"]]
        self.tags: dict[str, Any] = {
            "0010,0010": {"Name": "PatientName", "Type": "String", "Value": "<b>DOE</b>^JANE"},
            "0008,1140": {"Name": "ReferencedImageSequence", "Type": "Sequence", "Value": [
                {"0008,1150": {"Name": "ReferencedSOPClassUID", "Type": "String", "Value": "1.2.3"}},
                {"0008,1155": {"Name": "ReferencedSOPInstanceUID", "Type": "String", "Value": "1.2.4"}},
            ]},
            "0043,1028": {"Name": "Unknown", "PrivateCreator": "GEMS", "Type": "Null", "Value": None},
            "0018,9999": {"Name": "Big", "Type": "TooLong", "Value": None},
            "7fe0,0010": {"Name": "PixelData", "Type": "Null", "Value": None},
        }

    @staticmethod
    def _study(study_id: str, patient: str, name: str, patient_id: str, date: str, description: str,
               accession: str, series: list[str]) -> dict[str, Any]:
        return {"ID": study_id, "ParentPatient": patient, "Type": "Study",
                "MainDicomTags": {"StudyDate": date, "StudyTime": "101500", "StudyDescription": description,
                                  "AccessionNumber": accession, "StudyID": "S" + date[-2:]},
                "PatientMainDicomTags": {"PatientName": name, "PatientID": patient_id,
                                         "PatientBirthDate": "19700101", "PatientSex": "F"},
                "Series": series}

    @staticmethod
    def _series(series_id: str, study_id: str, modality: str, number: str, description: str) -> dict[str, Any]:
        return {"ID": series_id, "ParentStudy": study_id, "Type": "Series",
                "MainDicomTags": {"Modality": modality, "SeriesNumber": number, "SeriesDescription": description,
                                  "SeriesDate": "20240305", "SeriesTime": "101500"}}

    def _one(self, items: list[dict[str, Any]], resource_id: str, uri: str) -> dict[str, Any]:
        for item in items:
            if item["ID"] == resource_id:
                return item
        raise viewer.UnknownResource(uri)

    def _answer(self, uri: str) -> Any:
        if uri == "/studies?expand":
            return self.studies
        if uri == "/series?expand":
            return self.series
        found = re.fullmatch(r"/(studies|series|instances)/([^/?]+)(/[a-z]+)?(\?expand)?", uri)
        if found is None:
            raise AssertionError(f"unexpected Orthanc URI {uri}")
        level, resource_id, child, _ = found.groups()
        if level == "studies":
            study = self._one(self.studies, resource_id, uri)
            if child == "/series":
                return [s for s in self.series if s["ParentStudy"] == resource_id]
            if child == "/instances":
                series_ids = set(study["Series"])
                return [i for i in self.instances if i["ParentSeries"] in series_ids]
            return study
        if level == "series":
            series = self._one(self.series, resource_id, uri)
            if child == "/instances":
                return [i for i in self.instances if i["ParentSeries"] == resource_id]
            return series
        self._one(self.instances, resource_id, uri)
        assert child == "/tags"
        return self.tags

    def rest_get(self, uri: str) -> bytes:
        self.calls.append(uri)
        return json.dumps(self._answer(uri)).encode()


@pytest.fixture
def orthanc() -> FakeOrthanc:
    return FakeOrthanc()


def _get(endpoint: Any, orthanc: FakeOrthanc, query: dict[str, str] | None = None, **params: str) -> Any:
    response = endpoint(orthanc.rest_get, Request("GET", "/", params, query or {}, {}))
    assert response.status == 200
    assert response.media_type == "application/json"
    return json.loads(response.body)


def _static(root: Path, path: str, headers: dict[str, str] | None = None) -> Response:
    return viewer.static_file(root, Request("GET", "/previewer/" + path, {"path": path}, {}, headers or {}))


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
        assert viewer.contained_file(site, path).is_file()

    @pytest.mark.parametrize("path", [
        "../secret.txt", "sub/../../secret.txt", "../static-other/x.js", "/etc/passwd",
        "//etc/passwd", "../" * 20 + "etc/passwd",
    ])
    def test_paths_outside_are_404(self, site: Path, path: str) -> None:
        """A path that resolves outside the folder is refused before anything is opened."""
        with pytest.raises(HttpError) as error:
            viewer.contained_file(site, path)
        assert error.value.status == 404

    @pytest.mark.parametrize("path", [
        "%2e%2e/secret.txt", "%2E%2E%2Fsecret.txt", "..%2fsecret.txt", "..\\secret.txt", "app.js\x00.html",
    ])
    def test_encoded_paths_are_not_decoded_again(self, site: Path, path: str) -> None:
        """Orthanc has already decoded the URI: %-sequences, backslashes and NULs are not paths."""
        with pytest.raises(HttpError) as error:
            viewer.contained_file(site, path)
        assert error.value.status == 404

    def test_symbolic_link_out_is_404(self, site: Path) -> None:
        """A link inside the folder to a file outside is resolved first, then refused."""
        with pytest.raises(HttpError):
            viewer.contained_file(site, "link.txt")

    @pytest.mark.parametrize("path", [".hidden.js", "notes.bak", "sub", "missing.js", ""])
    def test_hidden_unknown_missing_and_folders_are_404(self, site: Path, path: str) -> None:
        """Hidden names, unknown extensions, folders and missing files are not served."""
        with pytest.raises(HttpError):
            viewer.contained_file(site, path)


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
        router = Router(viewer.routes(FakeOrthanc().rest_get, static_root=site), print)
        response = router.handle("GET", "/previewer/../secret.txt", {}, {})
        assert response.status == 404
        assert b"secret" not in response.body.replace(b"secret.txt", b"")
        assert json.loads(response.body)["error"].startswith("no viewer file")


class TestRedirects:
    def test_bare_prefix_redirects_relatively(self) -> None:
        """/previewer goes to previewer/index.html, relative, so a path prefix is kept."""
        response = viewer.redirect_to_index(Request("GET", "/previewer", {}, {}, {}))
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

        router = Router(viewer.routes(FakeOrthanc().rest_get), print)
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


class TestOrderInstances:
    def test_position_along_normal_in_instance_number_direction(self, orthanc: FakeOrthanc) -> None:
        """Slices sort by position along the normal, turned so Instance Numbers grow."""
        axial = [i for i in orthanc.instances if i["ParentSeries"] == SERIES_AXIAL]
        ordered, method = viewer.order_instances(axial)
        assert method == "position"
        assert [row["number"] for row in ordered] == [1, 2, 3, 4]
        assert [row["location"] for row in ordered] == [0, -5, -10, -15]

    def test_position_wins_over_instance_number(self) -> None:
        """A slice numbered out of place still sorts by its position."""
        rows = [_instance(_instance_id(9, n), SERIES_AXIAL, n, f"0\\0\\{z}") for n, z in [(1, 0), (2, 10), (3, 5)]]
        ordered, _ = viewer.order_instances(rows)
        assert [row["location"] for row in ordered] == [0, 5, 10]

    def test_oblique_normal(self) -> None:
        """The projection uses the normal of an oblique orientation, not z."""
        orientation = "1,0,0\\0,0.7071068,-0.7071068"   # normal (0, 0.707, 0.707)
        positions = ["0\\10\\10", "0\\0\\0", "0\\20\\0"]   # along normal: 14.1, 0, 14.1 -> ties by number
        rows = [_instance(_instance_id(9, n), SERIES_AXIAL, n, p, orientation) for n, p in enumerate(positions, 1)]
        ordered, method = viewer.order_instances(rows)
        assert method == "position"
        assert [row["number"] for row in ordered] == [2, 1, 3]
        assert ordered[1]["location"] == pytest.approx(14.1421, abs=1e-3)

    def test_missing_position_falls_back_to_instance_number(self) -> None:
        """Without a position on every instance the order is Instance Number, then arrival."""
        rows = [_instance(_instance_id(9, 1), SERIES_AXIAL, 2, "0\\0\\0"),
                _instance(_instance_id(9, 2), SERIES_AXIAL, None, index=1),
                _instance(_instance_id(9, 3), SERIES_AXIAL, 1, None)]
        ordered, method = viewer.order_instances(rows)
        assert method == "instance-number"
        assert [row["id"] for row in ordered] == [_instance_id(9, 3), _instance_id(9, 1), _instance_id(9, 2)]
        assert ordered[2]["number"] is None and ordered[0]["location"] is None

    def test_mixed_orientations_fall_back_to_instance_number(self) -> None:
        """A scout among axial slices makes the position meaningless: Instance Number is used."""
        rows = [_instance(_instance_id(9, 1), SERIES_AXIAL, 1, "0\\0\\0"),
                _instance(_instance_id(9, 2), SERIES_AXIAL, 2, "0\\0\\-5", "1,0,0\\0,0,-1")]
        assert viewer.order_instances(rows)[1] == "instance-number"

    @pytest.mark.parametrize("bad", ["1\\2", "a\\b\\c", "nan\\0\\0", ""])
    def test_malformed_position_is_ignored(self, bad: str) -> None:
        """A position that is not three finite numbers counts as missing."""
        rows = [_instance(_instance_id(9, 1), SERIES_AXIAL, 1, bad), _instance(_instance_id(9, 2), SERIES_AXIAL, 2, "0\\0\\1")]
        ordered, method = viewer.order_instances(rows)
        assert method == "instance-number" and ordered[0]["position"] is None

    def test_frames(self) -> None:
        """NumberOfFrames gives the frame count; absent or invalid means 1."""
        rows = [_instance(_instance_id(9, 1), SERIES_MR, 1, frames=12), _instance(_instance_id(9, 2), SERIES_MR, 2),
                _instance(_instance_id(9, 3), SERIES_MR, 3, frames=0)]
        assert [row["frames"] for row in viewer.order_instances(rows)[0]] == [12, 1, 1]


class TestStudies:
    def test_lists_studies_grouped_by_patient(self, orthanc: FakeOrthanc) -> None:
        """Patients by name, each one's studies newest first, with modalities and counts."""
        answer = _get(viewer.studies, orthanc)
        assert (answer["total"], answer["matched"], answer["truncated"]) == (3, 3, False)
        assert [s["id"] for s in answer["studies"]] == [STUDY_CT, STUDY_OLD, STUDY_MR]
        ct = answer["studies"][0]
        assert ct["patient"] == {"id": PATIENT_A, "name": "DOE^JANE", "patient_id": "PID-1",
                                 "birth_date": "19700101", "sex": "F"}
        assert (ct["date"], ct["description"], ct["accession"]) == ("20240305", "CHEST CT", "ACC1")
        assert (ct["modalities"], ct["series"], ct["instances"]) == (["CT"], 2, 5)

    def test_nameless_patients_come_last(self, orthanc: FakeOrthanc) -> None:
        """A study without a PatientName is listed after the named ones."""
        orthanc.studies[0]["PatientMainDicomTags"]["PatientName"] = ""
        assert [s["id"] for s in _get(viewer.studies, orthanc)["studies"]] == [STUDY_OLD, STUDY_MR, STUDY_CT]

    def test_two_calls_to_orthanc(self, orthanc: FakeOrthanc) -> None:
        """The list costs two REST calls, whatever the number of studies."""
        _get(viewer.studies, orthanc)
        assert sorted(orthanc.calls) == ["/series?expand", "/studies?expand"]

    @pytest.mark.parametrize(("query", "expected"), [
        ("doe", [STUDY_CT, STUDY_OLD]),
        ("jane doe", [STUDY_CT, STUDY_OLD]),
        ("PID-2", [STUDY_MR]),
        ("20240305", [STUDY_CT]),
        ("2023-06", [STUDY_MR]),
        ("ct", [STUDY_CT]),
        ("mr doe", [STUDY_OLD]),
        ("knee", [STUDY_MR]),
        ("cine", [STUDY_MR]),
        ("acc1", [STUDY_CT]),
        ("nothing-like-this", []),
        ("   ", [STUDY_CT, STUDY_OLD, STUDY_MR]),
    ])
    def test_search(self, orthanc: FakeOrthanc, query: str, expected: list[str]) -> None:
        """Every word must match a name, ID, date, modality, description or accession number."""
        answer = _get(viewer.studies, orthanc, {"q": query})
        assert [s["id"] for s in answer["studies"]] == expected
        assert answer["total"] == 3

    def test_limit(self, orthanc: FakeOrthanc) -> None:
        """limit cuts the list and says so."""
        answer = _get(viewer.studies, orthanc, {"limit": "2"})
        assert len(answer["studies"]) == 2 and answer["truncated"] and answer["matched"] == 3

    @pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "x"}, {"limit": "100000"}, {"sort": "date"}])
    def test_bad_parameters_are_400(self, orthanc: FakeOrthanc, query: dict[str, str]) -> None:
        """An invalid limit or an unknown parameter is a 400 naming it."""
        with pytest.raises(HttpError) as error:
            viewer.studies(orthanc.rest_get, Request("GET", "/", {}, query, {}))
        assert error.value.status == 400
        assert next(iter(query)) in error.value.message


class TestStudy:
    def test_series_in_number_order_with_thumbnails(self, orthanc: FakeOrthanc) -> None:
        """Series sort by number; each names its middle image as thumbnail."""
        answer = _get(viewer.study, orthanc, id=STUDY_CT)
        assert answer["id"] == STUDY_CT and answer["patient"]["name"] == "DOE^JANE"
        assert answer["thumbnail_size"] == viewer.DEFAULT_THUMBNAIL_SIZE
        scout, axial = answer["series"]
        assert (scout["id"], scout["number"], scout["instances"], scout["frames"]) == (SERIES_SCOUT, 1, 1, 1)
        assert scout["thumbnail"] == {"instance": _instance_id(2, 1), "frame": 0}
        assert (axial["id"], axial["modality"], axial["description"]) == (SERIES_AXIAL, "CT", "Axial 5mm")
        assert axial["thumbnail"] == {"instance": _instance_id(1, 3), "frame": 0}

    def test_multiframe_thumbnail_is_middle_frame(self, orthanc: FakeOrthanc) -> None:
        """A 10-frame instance is shown by its frame 5."""
        series = _get(viewer.study, orthanc, id=STUDY_MR)["series"][0]
        assert (series["instances"], series["frames"]) == (1, 10)
        assert series["thumbnail"] == {"instance": _instance_id(4, 1), "frame": 5}

    def test_series_kind_from_modality(self, orthanc: FakeOrthanc) -> None:
        """Series of presentation states, segmentations, reports and PDFs are named by kind; others are images."""
        orthanc.series[0]["MainDicomTags"]["Modality"] = "PR"
        kinds = {s["id"]: s["kind"] for s in _get(viewer.study, orthanc, id=orthanc.series[0]["ParentStudy"])["series"]}
        assert kinds[orthanc.series[0]["ID"]] == "presentation"
        assert "image" in kinds.values() or len(kinds) == 1

    def test_three_calls_to_orthanc(self, orthanc: FakeOrthanc) -> None:
        """A study costs three REST calls, whatever the number of series."""
        _get(viewer.study, orthanc, id=STUDY_CT)
        assert len(orthanc.calls) == 3

    def test_unknown_is_404(self, orthanc: FakeOrthanc) -> None:
        """An unknown study is a 404 naming it."""
        with pytest.raises(HttpError) as error:
            _get(viewer.study, orthanc, id=UNKNOWN)
        assert (error.value.status, error.value.details) == (404, {"study": UNKNOWN})

    @pytest.mark.parametrize("bad", ["..", "x", "B0000000-00000000-00000000-00000000-00000001",
                                     STUDY_CT + "?expand", STUDY_CT + "/series"])
    def test_malformed_id_never_reaches_orthanc(self, orthanc: FakeOrthanc, bad: str) -> None:
        """An ID that is not an Orthanc ID is a 404 without any REST call."""
        with pytest.raises(HttpError) as error:
            viewer.study(orthanc.rest_get, Request("GET", "/", {"id": bad}, {}, {}))
        assert error.value.status == 404
        assert orthanc.calls == []


class TestSeries:
    def test_instances_in_viewing_order(self, orthanc: FakeOrthanc) -> None:
        """The series with its study, patient and instances in viewing order."""
        answer = _get(viewer.series, orthanc, id=SERIES_AXIAL)
        assert (answer["id"], answer["modality"], answer["number"], answer["order"]) == (SERIES_AXIAL, "CT", 2, "position")
        assert answer["study"]["id"] == STUDY_CT and answer["study"]["description"] == "CHEST CT"
        assert answer["patient"]["patient_id"] == "PID-1"
        assert [i["id"] for i in answer["instances"]] == [_instance_id(1, n) for n in (1, 2, 3, 4)]
        assert answer["instances"][0] == {"id": _instance_id(1, 1), "uid": _uid(_instance_id(1, 1)), "number": 1, "frames": 1,
                                          "position": [0.0, 0.0, 0.0], "location": 0.0}
        assert answer["frames"] == 4

    def test_multiframe(self, orthanc: FakeOrthanc) -> None:
        """A multi-frame instance counts its frames."""
        answer = _get(viewer.series, orthanc, id=SERIES_MR)
        assert answer["frames"] == 10 and answer["instances"][0]["frames"] == 10

    def test_unknown_is_404(self, orthanc: FakeOrthanc) -> None:
        """An unknown series is a 404 naming it."""
        with pytest.raises(HttpError) as error:
            _get(viewer.series, orthanc, id=UNKNOWN)
        assert (error.value.status, error.value.details) == (404, {"series": UNKNOWN})


class TestInstanceTags:
    def test_rows(self, orthanc: FakeOrthanc) -> None:
        """Tags become sorted rows; sequences are followed by their items, one level deeper."""
        rows = _get(viewer.instance_tags, orthanc, id=_instance_id(1, 1))["tags"]
        assert rows[0] == {"tag": "0008,1140", "name": "ReferencedImageSequence", "value": "sequence of 2 items", "depth": 0}
        assert rows[1] == {"tag": "", "name": "item 1", "value": "", "depth": 1}
        assert rows[2] == {"tag": "0008,1150", "name": "ReferencedSOPClassUID", "value": "1.2.3", "depth": 2}
        by_tag = {row["tag"]: row for row in rows}
        assert by_tag["0010,0010"]["value"] == "<b>DOE</b>^JANE"   # as stored: the viewer shows it as text
        assert by_tag["0018,9999"]["value"] == "(too long to show)"
        assert by_tag["7FE0,0010"]["value"] == ""

    def test_unknown_is_404(self, orthanc: FakeOrthanc) -> None:
        """An unknown instance is a 404 naming it."""
        with pytest.raises(HttpError) as error:
            _get(viewer.instance_tags, orthanc, id=UNKNOWN)
        assert error.value.status == 404 and error.value.details == {"instance": UNKNOWN}


class TestRoutes:
    def test_paths(self, orthanc: FakeOrthanc) -> None:
        """The viewer's route table, the static catch-all last."""
        paths = [route.path for route in viewer.routes(orthanc.rest_get)]
        assert paths == ["/previewer/api/studies", "/previewer/api/studies/{id}", "/previewer/api/series/{id}",
                         "/previewer/api/instances/{id}/tags", "/previewer", "/previewer/{path:path}"]

    def test_dispatch(self, orthanc: FakeOrthanc) -> None:
        """API paths reach the API, other paths the static files; errors are JSON."""
        router = Router(viewer.routes(orthanc.rest_get), print)
        assert json.loads(router.handle("GET", "/previewer/api/studies", {"q": "knee"}, {}).body)["matched"] == 1
        assert router.handle("GET", "/previewer/viewer.css", {}, {}).media_type.startswith("text/css")
        missing = router.handle("GET", f"/previewer/api/series/{UNKNOWN}", {}, {})
        assert missing.status == 404 and json.loads(missing.body)["series"] == UNKNOWN
        posted = router.handle("POST", "/previewer/api/studies", {}, {})
        assert posted.status == 405 and "GET" in posted.allow.split(",")

    def test_unknown_resource_from_orthanc_elsewhere_is_404(self) -> None:
        """A resource that disappears between two calls is still a JSON 404."""
        def rest_get(uri: str) -> bytes:
            if uri.startswith("/studies/"):
                raise viewer.UnknownResource(uri)
            return json.dumps({"ID": SERIES_MR, "ParentStudy": STUDY_MR, "MainDicomTags": {}} if "instances" not in uri else []).encode()
        with pytest.raises(HttpError) as error:
            viewer.series(rest_get, Request("GET", "/", {"id": SERIES_MR}, {}, {}))
        assert error.value.status == 404
