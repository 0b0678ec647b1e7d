"""static/hanging.js in Chromium: which prior study opens, and which of its series goes beside a series."""
from __future__ import annotations

from typing import Any

import pytest

from test_viewer_viewstate import call, page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow   # a browser


def _call(page: Any, name: str, *args: Any) -> Any:  # noqa: F811
    return call(page, "hanging.js", name, *args)


def _series(id_: str, modality: str, description: str, body_part: str = "", kind: str = "image") -> dict[str, Any]:
    return {"id": id_, "modality": modality, "description": description, "body_part": body_part, "kind": kind,
            "thumbnail": {"instance": id_, "frame": 0}}


# The series of pydicom's MR study 1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.1 (dicomdirtests/98892003).
PRIOR = {"id": "prior", "series": [
    _series("localizer", "MR", "FAST LOCALIZER"), _series("pilot", "MR", "T/S/C RF FAST PILOT"),
    _series("angio", "MR", "ANGIO Projected from   C"), _series("pr", "PR", "FAST PILOT", kind="presentation")]}


def test_closest_description_of_the_same_modality(page: Any) -> None:  # noqa: F811
    """The prior's series of the same modality with the most words in common goes beside."""
    assert _call(page, "matchingSeries", PRIOR, _series("x", "MR", "T/S/C RF FAST PILOT"))["id"] == "pilot"
    assert _call(page, "matchingSeries", PRIOR, _series("x", "MR", "fast localizer 2"))["id"] == "localizer"
    assert _call(page, "matchingSeries", PRIOR, _series("x", "MR", "ANGIO"))["id"] == "angio"


def test_body_part_when_no_description_matches(page: Any) -> None:  # noqa: F811
    """Without a word in common, the same Body Part Examined wins; else the first series of the modality."""
    prior = {"id": "p", "series": [_series("head", "CT", "Routine", "HEAD"), _series("chest", "CT", "Routine", "CHEST")]}
    assert _call(page, "matchingSeries", prior, _series("x", "CT", "Thorax 1mm", "CHEST"))["id"] == "chest"
    assert _call(page, "matchingSeries", prior, _series("x", "CT", "Thorax 1mm", ""))["id"] == "head"


def test_another_modality_gives_the_first_viewable_series(page: Any) -> None:  # noqa: F811
    """A prior without the modality offers its first series that shows an image (never a presentation state)."""
    prior = {"id": "p", "series": [_series("pr", "PR", "x", kind="presentation"), _series("ct", "CT", "Routine Brain")]}
    assert _call(page, "matchingSeries", prior, _series("x", "CR", "Cervical LAT"))["id"] == "ct"
    assert _call(page, "matchingSeries", {"id": "p", "series": []}, _series("x", "CR", "")) is None


def test_default_prior_is_the_newest_older_study_with_the_modality(page: Any) -> None:  # noqa: F811
    """Newer studies are never the prior; among the older ones the newest with the modality is."""
    current = {"date": "20200101", "time": "120000", "others": [
        {"id": "newer", "date": "20210101", "time": "", "modalities": ["CT"]},
        {"id": "mr", "date": "20190101", "time": "", "modalities": ["MR"]},
        {"id": "ct", "date": "20150101", "time": "", "modalities": ["CT", "SR"]}]}
    assert _call(page, "defaultPrior", current, ["CT"])["id"] == "ct"
    assert _call(page, "defaultPrior", current, ["US"])["id"] == "mr"
    assert _call(page, "defaultPrior", {**current, "others": current["others"][:1]}, ["CT"]) is None


def test_default_prior_compares_legacy_dates_by_the_calendar(page: Any) -> None:  # noqa: F811
    """A legacy YYYY.MM.DD date (as in pydicom's ExplVR_BigEnd.dcm) is newer or older by its date, not its text."""
    current = {"date": "20200101", "time": "", "others": [
        {"id": "newer", "date": "2020.06.01", "time": "", "modalities": ["CT"]},   # raw text sorts below 20200101
        {"id": "older", "date": "2019.12.31", "time": "", "modalities": ["CT"]}]}
    assert _call(page, "defaultPrior", current, ["CT"])["id"] == "older"
