"""Placement statistics: ACTIVE and ENDED hires counted by the vacancy's province and sector and the start month."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auth.principal import Principal
from db.engine import Database
from db.hires import PlacementCriteria, PlacementDimension, PlacementRow, placement_counts
from resolvers.hires import hire_scope


@dataclass(frozen=True)
class PlacementStatistics:
    total: int
    rows: list[PlacementRow]


async def placement_statistics(
    db: Database, principal: Principal, dimensions: Sequence[PlacementDimension], criteria: PlacementCriteria
) -> PlacementStatistics:
    """Exact counts, never estimates: an employer's own placements, or every placement for a ministry auditor."""
    employer_id = hire_scope(principal)
    async with db.search() as session:  # the read replica when there is one: statistics bear a moment's lag
        rows = await placement_counts(session, dimensions, criteria, employer_id=employer_id)
    # Every counted hire falls in exactly one row (the single ungrouped row when there are no dimensions).
    return PlacementStatistics(total=sum(row.placements for row in rows), rows=rows)
