"""Cambodia's legal minimum monthly wage for garment, footwear and travel-goods workers, by year (USD)."""

from __future__ import annotations

from decimal import Decimal

# Set each year by the Ministry of Labour's prakas; the one place these figures live.
TEXTILE_MINIMUM_WAGE_USD: dict[int, Decimal] = {
    2023: Decimal("200.00"),
    2024: Decimal("204.00"),
    2025: Decimal("208.00"),
    2026: Decimal("210.00"),
}


def textile_minimum_wage(year: int) -> Decimal:
    """The minimum for `year`; a year not yet set uses the latest known, an older one the earliest."""
    known = sorted(TEXTILE_MINIMUM_WAGE_USD)
    if year in TEXTILE_MINIMUM_WAGE_USD:
        return TEXTILE_MINIMUM_WAGE_USD[year]
    return TEXTILE_MINIMUM_WAGE_USD[known[-1] if year > known[-1] else known[0]]
