"""Second seeds: how far a figure moves when nothing but the seed changes.

A chapter whose figures decide a claim by a difference (filtered minus unfiltered, WICEL minus CE, DPO-P against
DPO) trains its reference variant again with other seeds (the `seeds` parameter) and records the spread of each
figure a claim reads. With two seeds the spread |a - b| estimates the standard deviation of a difference between
two single runs (sqrt 2 x one run's), so the ledger calls an effect real when it exceeds twice the spread.
"""
from __future__ import annotations


def other_seeds(seed: int, seeds: int) -> list[int]:
    """The seeds besides the chapter's own for `seeds` runs in all: seed + 1, seed + 2, ..."""
    if not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"the parameter seeds must be a whole number of runs, at least 1 (got {seeds!r})")
    return [seed + k for k in range(1, seeds)]


def spread(values: list[float]) -> float:
    """max - min of a figure over the seeds (NaN with fewer than two: no measured noise)."""
    values = list(values)
    return max(values) - min(values) if len(values) > 1 else float("nan")
