"""The store: versions remembered while nothing changes, and the file read once for many frames."""
from __future__ import annotations

import pytest

from conftest import CT_SMALL
from previewer.plugin.http import HttpError
from previewer.plugin.store import MAX_VERSIONS, Store, UnknownInstance, instance_version, modality_frame

CT_ID = "11111111-22222222-33333333-44444444-55555555"
OTHER_ID = "aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-eeeeeeee"


class Orthanc:
    """Versions by ID, counting lookups, with a change counter like native/events.c's."""

    def __init__(self) -> None:
        self.versions = {CT_ID: "v1", OTHER_ID: "w1"}
        self.lookups = 0
        self.changes = 0

    def version(self, instance_id: str) -> str | None:
        self.lookups += 1
        return self.versions.get(instance_id)

    def generation(self) -> int:
        return self.changes

    def dicom(self, instance_id: str) -> bytes:
        if instance_id not in self.versions:
            raise UnknownInstance(instance_id)
        return CT_SMALL.read_bytes()


@pytest.fixture
def orthanc() -> Orthanc:
    return Orthanc()


def _store(orthanc: Orthanc, remember: bool = True) -> Store:
    return Store(dicom=orthanc.dicom, version=orthanc.version, generation=orthanc.generation if remember else None)


class TestVersions:
    def test_remembered_while_nothing_changes(self, orthanc: Orthanc) -> None:
        """Many requests for one instance cost one lookup."""
        store = _store(orthanc)
        assert [instance_version(store, CT_ID) for _ in range(5)] == ["v1"] * 5
        assert orthanc.lookups == 1

    def test_a_change_makes_every_version_be_asked_again(self, orthanc: Orthanc) -> None:
        """A replaced file is seen at once after the counter moves."""
        store = _store(orthanc)
        instance_version(store, CT_ID)
        instance_version(store, OTHER_ID)
        orthanc.versions[CT_ID] = "v2"
        orthanc.changes += 1
        assert instance_version(store, CT_ID) == "v2"
        assert instance_version(store, OTHER_ID) == "w1"
        assert orthanc.lookups == 4

    def test_a_deleted_instance_is_404_and_forgotten(self, orthanc: Orthanc) -> None:
        """After the counter moves, a deleted instance is 404 and its cached frame goes."""
        store = _store(orthanc)
        modality_frame(store, CT_ID, instance_version(store, CT_ID), 0)
        assert len(store.cache) == 1
        del orthanc.versions[CT_ID]
        orthanc.changes += 1
        with pytest.raises(HttpError) as error:
            instance_version(store, CT_ID)
        assert error.value.status == 404 and len(store.cache) == 0

    def test_not_remembered_if_something_changed_during_the_lookup(self, orthanc: Orthanc) -> None:
        """A version read while the counter moved may be stale: it is not kept."""
        store = _store(orthanc)
        real = orthanc.version

        def racing(instance_id: str) -> str | None:
            orthanc.changes += 1
            return real(instance_id)
        store.version = racing
        instance_version(store, CT_ID)
        instance_version(store, CT_ID)
        assert orthanc.lookups == 2

    def test_without_a_counter_every_request_asks(self, orthanc: Orthanc) -> None:
        """A store over a shared index (no counter) never remembers."""
        store = _store(orthanc, remember=False)
        for _ in range(3):
            instance_version(store, CT_ID)
        assert orthanc.lookups == 3

    def test_forget_drops_the_version(self, orthanc: Orthanc) -> None:
        """The deletion event's handler drops the remembered version too."""
        store = _store(orthanc)
        instance_version(store, CT_ID)
        store.forget(CT_ID)
        instance_version(store, CT_ID)
        assert orthanc.lookups == 2

    def test_the_table_is_bounded(self, orthanc: Orthanc) -> None:
        """The remembered versions start again when the table is full."""
        store = _store(orthanc)
        ids = [f"{n:08x}-00000000-00000000-00000000-00000000" for n in range(MAX_VERSIONS + 1)]
        orthanc.versions.update(dict.fromkeys(ids, "x"))
        for instance_id in ids:
            instance_version(store, instance_id)
        assert len(store._versions) <= MAX_VERSIONS

    def test_a_malformed_id_is_404_without_a_lookup(self, orthanc: Orthanc) -> None:
        """An ID that is not Orthanc's form never reaches Orthanc."""
        with pytest.raises(HttpError) as error:
            instance_version(_store(orthanc), "../etc")
        assert error.value.status == 404 and orthanc.lookups == 0
