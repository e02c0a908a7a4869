"""The skill and ISCO-08 occupation catalogue every vacancy and profile is described with."""

from __future__ import annotations

import re

import pytest

from db.enums import Sector
from tests.factories import Factory

SKILLS = "query($sector: Sector) { skills(sector: $sector) { code name nameKm sector } }"
OCCUPATIONS = "query($sector: Sector) { occupations(sector: $sector) { code name nameKm } }"
KHMER = re.compile("[\u1780-\u17ff]")


async def query(make: Factory, document: str, name: str, sector: str | None = None) -> list[dict[str, str]]:
    caller = await make.employer_caller(Sector.TEXTILE)
    body = await make.graphql(caller, document, {"sector": sector})
    assert "errors" not in body, body
    return body["data"][name]  # type: ignore[no-any-return]


async def test_about_forty_skills_are_offered_each_with_a_khmer_name(make: Factory) -> None:
    skills = await query(make, SKILLS, "skills")
    assert 40 <= len(skills) <= 60
    assert len({s["code"] for s in skills}) == len(skills)
    assert all(s["name"] and KHMER.search(s["nameKm"]) for s in skills), skills
    assert "textile.single-needle-sewing" in {s["code"] for s in skills}


async def test_skills_can_be_narrowed_to_one_sector(make: Factory) -> None:
    textile = await query(make, SKILLS, "skills", "TEXTILE")
    codes = {s["code"] for s in textile}
    assert {s["sector"] for s in textile} == {"TEXTILE"}
    assert {"textile.single-needle-sewing", "textile.overlock"} <= codes
    assert "construction.bricklaying" not in codes


@pytest.mark.parametrize("code", ["8153", "7112", "9312", "9313", "9211"])
async def test_a_common_isco_occupation_is_present_with_a_khmer_name(make: Factory, code: str) -> None:
    occupations = {o["code"]: o for o in await query(make, OCCUPATIONS, "occupations")}
    assert code in occupations
    assert occupations[code]["name"]
    assert KHMER.search(occupations[code]["nameKm"])


async def test_occupations_can_be_narrowed_to_one_sector(make: Factory) -> None:
    codes = {o["code"] for o in await query(make, OCCUPATIONS, "occupations", "CONSTRUCTION")}
    assert {"7112", "9312", "9313"} <= codes
    assert "8153" not in codes
    assert "9211" not in codes
