"""RT Plans and RT Ion Plans (PS3.3 A.20, A.49): their beams and fractions, for a summary page.

An RT Plan is a treatment prescription without pixels.  Its RT General Plan
module (PS3.3 C.8.8.9) labels it, the RT Fraction Scheme module (C.8.8.13)
says how many fractions each fraction group delivers and each beam's dose and
meterset in it, and the RT Beams module (C.8.8.14) describes each beam; an RT
Ion Plan has the RT Ion Beams module (C.8.8.25) instead, whose Ion Beam
Sequence reads the same way.  The first control point of a beam holds every
value of the beam's geometry (C.8.8.14.5, C.8.8.25.7): the summary shows its
energy and angles.

:func:`summary` reads all of that.  A malformed value becomes None (or the
item is left out), and the problem is named in the list it returns.
"""
from __future__ import annotations

from typing import Any

from .values import Values, label

RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"
RT_ION_PLAN = "1.2.840.10008.5.1.4.1.1.481.8"
#: Storage classes read here.
PLANS = (RT_PLAN, RT_ION_PLAN)
#: At most this many beams and fraction groups are listed (the rest is named as a problem).
MAX_ITEMS = 1000


def _where(keyword: str, index: int) -> str:
    return f"{label(keyword)} item {index + 1}: "


def _items(values: Values, item: Any, keyword: str, where: str = "", required: bool = False) -> list[Any]:
    found = values.sequence(item, keyword, where, required)
    if len(found) > MAX_ITEMS:
        values.problems.append(f"{where}{label(keyword)} has {len(found)} items: only the first {MAX_ITEMS} are listed")
    return found[:MAX_ITEMS]


def _referenced_beam(values: Values, item: Any, where: str) -> dict[str, Any]:
    """A beam of a fraction group: PS3.3 C.8.8.13, Referenced Beam Number, Beam Dose (Gy), Beam Meterset."""
    return {"number": values.integer(item, "ReferencedBeamNumber", where),
            "dose": values.number(item, "BeamDose", where),
            "meterset": values.number(item, "BeamMeterset", where)}


def _fraction_group(values: Values, item: Any, where: str) -> dict[str, Any]:
    """One item of the Fraction Group Sequence (300A,0070): PS3.3 C.8.8.13."""
    beams = _items(values, item, "ReferencedBeamSequence", where)
    return {"number": values.integer(item, "FractionGroupNumber", where),
            "fractions_planned": values.integer(item, "NumberOfFractionsPlanned", where),
            "beams": [_referenced_beam(values, beam, where + _where("ReferencedBeamSequence", i))
                      for i, beam in enumerate(beams)]}


def _control_points(values: Values, item: Any, keyword: str, where: str) -> tuple[int | None, Any]:
    """The beam's number of control points, and its first control point (PS3.3 C.8.8.14.5)."""
    points = values.sequence(item, keyword, where)
    declared = values.integer(item, "NumberOfControlPoints", where)
    if points and declared is not None and declared != len(points):
        values.problems.append(f"{where}{label('NumberOfControlPoints')} says {declared}, "
                               f"and {label(keyword)} has {len(points)} items")
    count = len(points) if points else declared
    return count, (points[0] if points else {})


def _beam(values: Values, item: Any, where: str, ion: bool = False) -> dict[str, Any]:
    """One beam: PS3.3 C.8.8.14.1 (Beam Sequence) or C.8.8.25.1 (Ion Beam Sequence), with its first control point."""
    keyword = "IonControlPointSequence" if ion else "ControlPointSequence"
    count, first = _control_points(values, item, keyword, where)
    at = where + _where(keyword, 0)
    return {"number": values.integer(item, "BeamNumber", where),
            "name": values.text(item, "BeamName"),
            "description": values.text(item, "BeamDescription"),
            "type": values.text(item, "BeamType"),
            "radiation": values.text(item, "RadiationType"),
            "machine": values.text(item, "TreatmentMachineName"),
            "control_points": count,
            "energy": values.number(first, "NominalBeamEnergy", at),
            "gantry": values.number(first, "GantryAngle", at),
            "couch": values.number(first, "PatientSupportAngle", at),
            "collimator": values.number(first, "BeamLimitingDeviceAngle", at)}


def summary(ds: Any) -> tuple[dict[str, Any], list[str]]:
    """The plan's label, name, geometry, fraction groups and beams, and the problems met reading them."""
    values = Values()
    ion = str(ds.get("SOPClassUID", "")) == RT_ION_PLAN or ("IonBeamSequence" in ds and "BeamSequence" not in ds)
    keyword = "IonBeamSequence" if ion else "BeamSequence"
    groups = _items(values, ds, "FractionGroupSequence")
    beams = _items(values, ds, keyword)
    return {
        # PS3.3 C.8.8.9 RT General Plan.
        "label": values.text(ds, "RTPlanLabel"),
        "name": values.text(ds, "RTPlanName"),
        "geometry": values.text(ds, "RTPlanGeometry"),
        "fraction_groups": [_fraction_group(values, group, _where("FractionGroupSequence", i))
                            for i, group in enumerate(groups)],
        "beams": [_beam(values, item, _where(keyword, i), ion) for i, item in enumerate(beams)],
    }, values.problems
