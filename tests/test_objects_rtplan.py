"""RT Plan summaries (previewer/objects/rtplan.py) against pydicom's own reading of the real files, and hostile mutants."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from objects_rt import RTPLAN, raw, read, reread
from previewer.objects import rtplan

#: pydicom's RT Ion Plan header (CMS XiO): the RT General Plan module without beams or fractions.
ION_PLAN_HEADER = Path(get_testdata_file("ExplVR_LitEndNoMeta.dcm"))


@pytest.fixture(scope="module")
def plan() -> Dataset:
    """rtplan.dcm as pydicom reads it."""
    return read(RTPLAN)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class TestSummary:
    def test_labels_are_the_files(self, plan: Dataset) -> None:
        """Label, name and geometry are rtplan.dcm's RT General Plan values."""
        found, problems = rtplan.summary(plan)
        assert (found["label"], found["name"], found["geometry"]) == (plan.RTPlanLabel, plan.RTPlanName,
                                                                       plan.RTPlanGeometry)
        assert problems == []

    def test_beams_are_the_beam_sequence(self, plan: Dataset) -> None:
        """One entry per Beam Sequence item, with its number, name, type, radiation, machine and control points."""
        beams = rtplan.summary(plan)[0]["beams"]
        assert [(b["number"], b["name"], b["type"], b["radiation"], b["machine"], b["control_points"])
                for b in beams] == [(int(b.BeamNumber), b.BeamName, b.BeamType, b.RadiationType,
                                     b.TreatmentMachineName, len(b.ControlPointSequence)) for b in plan.BeamSequence]
        assert len(beams) == 1 and beams[0]["description"] == ""

    def test_geometry_is_the_first_control_points(self, plan: Dataset) -> None:
        """Energy and gantry, couch and collimator angles come from each beam's first control point."""
        first = plan.BeamSequence[0].ControlPointSequence[0]
        beam = rtplan.summary(plan)[0]["beams"][0]
        assert (beam["energy"], beam["gantry"], beam["couch"], beam["collimator"]) == (
            float(first.NominalBeamEnergy), float(first.GantryAngle), float(first.PatientSupportAngle),
            float(first.BeamLimitingDeviceAngle))

    def test_fraction_groups_are_the_files(self, plan: Dataset) -> None:
        """Each fraction group's number, fractions planned and referenced beams' dose and meterset."""
        groups = rtplan.summary(plan)[0]["fraction_groups"]
        assert groups == [{"number": int(g.FractionGroupNumber), "fractions_planned": int(g.NumberOfFractionsPlanned),
                           "beams": [{"number": int(b.ReferencedBeamNumber), "dose": _float(b.get("BeamDose")),
                                      "meterset": _float(b.get("BeamMeterset"))} for b in g.ReferencedBeamSequence]}
                          for g in plan.FractionGroupSequence]
        assert groups[0]["fractions_planned"] == 30

    def test_an_ion_plan_header_without_beams(self) -> None:
        """ExplVR_LitEndNoMeta.dcm (a real RT Ion Plan header): its geometry, no beams, no fraction groups, no problem."""
        ds = read(ION_PLAN_HEADER)
        assert ds.SOPClassUID == rtplan.RT_ION_PLAN
        assert rtplan.summary(ds) == ({"label": "", "name": "", "geometry": ds.RTPlanGeometry,
                                       "fraction_groups": [], "beams": []}, [])

    def test_ion_beams_read_as_beams(self, plan: Dataset) -> None:
        """rtplan.dcm's beam moved into an Ion Beam Sequence (synthesized: no real ion plan with beams) reads the same."""
        ion = copy.deepcopy(plan)
        ion.SOPClassUID = rtplan.RT_ION_PLAN
        beam = copy.deepcopy(plan.BeamSequence[0])
        beam.IonControlPointSequence = beam.ControlPointSequence
        del beam.ControlPointSequence
        ion.IonBeamSequence = Sequence([beam])
        del ion.BeamSequence
        assert rtplan.summary(ion) == rtplan.summary(plan)


def _beam(ds: Dataset) -> Dataset:
    return ds.BeamSequence[0]


#: One element of rtplan.dcm broken as a planning system might (synthesized), the field that becomes null, and
#: the words of the problem.
MUTANTS: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    "NaN energy": (lambda ds: raw(_beam(ds).ControlPointSequence[0], "NominalBeamEnergy", b"NaN"),
                   ("beams", 0, "energy"), ("Beam Sequence item 1", "Control Point Sequence item 1",
                                            "(300A,0114) Nominal Beam Energy 'NaN'")),
    "text gantry": (lambda ds: raw(_beam(ds).ControlPointSequence[0], "GantryAngle", b"north"),
                    ("beams", 0, "gantry"), ("(300A,011E) Gantry Angle 'north' is not a finite number",)),
    "text meterset": (lambda ds: raw(ds.FractionGroupSequence[0].ReferencedBeamSequence[0], "BeamMeterset", b"lots"),
                      ("fraction_groups", 0, "beams", 0, "meterset"),
                      ("Fraction Group Sequence item 1", "(300A,0086) Beam Meterset 'lots'")),
    "text beam number": (lambda ds: raw(_beam(ds), "BeamNumber", b"one"), ("beams", 0, "number"),
                         ("(300A,00C0) Beam Number 'one' is not an integer",)),
    "fraction count 2.5": (lambda ds: raw(ds.FractionGroupSequence[0], "NumberOfFractionsPlanned", b"2.5"),
                           ("fraction_groups", 0, "fractions_planned"), ("Number of Fractions Planned '2.5'",)),
}


def _at(found: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        found = found[step]
    return found


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_a_malformed_value_is_null_and_named(plan: Dataset, name: str) -> None:
    """Each mutant, read back as the endpoint reads it: its field is None and the problem names item, tag and value."""
    edit, path, words = MUTANTS[name]
    ds = copy.deepcopy(plan)
    edit(ds)
    found, problems = rtplan.summary(reread(ds, name))
    assert _at(found, path) is None
    assert len(problems) == 1 and all(word in problems[0] for word in words), problems
    assert found["beams"][0]["name"] == "Field 1"


def test_control_point_count_that_lies(plan: Dataset) -> None:
    """A Number of Control Points that disagrees with the sequence: the sequence's count, and the disagreement named."""
    ds = copy.deepcopy(plan)
    _beam(ds).NumberOfControlPoints = 7
    found, problems = rtplan.summary(ds)
    assert found["beams"][0]["control_points"] == 2
    assert problems == ["(300A,00B0) Beam Sequence item 1: (300A,0110) Number of Control Points says 7, "
                        "and (300A,0111) Control Point Sequence has 2 items"]


def test_a_beam_sequence_that_is_not_a_sequence(plan: Dataset) -> None:
    """Text of VR LO at the Beam Sequence's tag (synthesized): no beams, and the problem named."""
    ds = copy.deepcopy(plan)
    del ds.BeamSequence
    ds.add_new(0x300A00B0, "LO", "Field 1")
    found, problems = rtplan.summary(ds)
    assert found["beams"] == [] and problems == ["(300A,00B0) Beam Sequence is not a sequence: it holds 'Field 1'"]


def test_only_the_first_beams_are_listed(plan: Dataset) -> None:
    """A plan of MAX_ITEMS + 1 beams (rtplan.dcm's one, copied; synthesized): MAX_ITEMS listed, the rest named."""
    ds = copy.deepcopy(plan)
    ds.BeamSequence = Sequence([_beam(plan)] * (rtplan.MAX_ITEMS + 1))
    found, problems = rtplan.summary(ds)
    assert len(found["beams"]) == rtplan.MAX_ITEMS
    assert problems == [f"(300A,00B0) Beam Sequence has {rtplan.MAX_ITEMS + 1} items: "
                        f"only the first {rtplan.MAX_ITEMS} are listed"]

