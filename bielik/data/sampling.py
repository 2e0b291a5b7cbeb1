"""Taking part of a list of rows so that the part still covers the whole: two ways, used by every reader that
caps a source (`limit_per_source`).

- `evenly`: rows at even steps through the list, so every year, document and file of a sorted file is there;
- `round_robin`: one row of each group in turn, so a cap keeps many books, exams or revisions rather than
  the first few groups in full.
"""
from __future__ import annotations

from typing import Callable


def evenly(rows: list, limit: int) -> list:
    """`limit` rows at even steps through `rows` (all of them if there are no more)."""
    if limit >= len(rows):
        return rows
    return [rows[i * len(rows) // limit] for i in range(limit)]


def round_robin(rows: list[dict], limit: int, order: Callable[[str], object] | None = None) -> list[dict]:
    """Up to `limit` rows, taking one row of each group (`row["group"]`) in turn, in their original order within
    each group; the groups come in their order of first appearance, or sorted by `order(group)`."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    keys = sorted(groups, key=order) if order else list(groups)
    lists = [groups[g] for g in keys]
    out, i = [], 0
    while len(out) < limit and any(i < len(g) for g in lists):
        out += [g[i] for g in lists if i < len(g)][: limit - len(out)]
        i += 1
    return out
