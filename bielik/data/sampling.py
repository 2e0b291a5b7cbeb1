"""Taking part of a list of rows so that the part still covers the whole: two ways, used by every reader that
caps a source (`limit_per_source`).

- `evenly`: rows at even steps through the list, so every year, document and file of a sorted file is there;
- `round_robin`: one row of each group in turn, so a cap keeps many books, exams or revisions rather than
  the first few groups in full.

And `by_share`: how many of two pools a mix of a given size and share can take, keeping the share when a pool
runs short (chapter 02's tokenizer sample).
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


def by_share(n_a: int, n_b: int, total: int, share_b: float) -> tuple[int, int, str]:
    """How many of pool a (n_a items) and pool b (n_b) a mix of `total` items (0: as many as the pools allow)
    takes so that b is `share_b` of it. When a pool is too small for its part, the other part shrinks with it:
    the share holds and the mix is smaller. Returns (from a, from b, a note, empty when nothing was cut)."""
    if not 0 <= share_b <= 1:
        raise ValueError(f"share {share_b} is not between 0 and 1")
    if not total:  # as large as the pools allow at this share
        limits = ([n_a / (1 - share_b)] if share_b < 1 else []) + ([n_b / share_b] if share_b > 0 else [])
        total = int(min(limits))
    want_b = round(total * share_b)
    want_a = total - want_b
    scale = min(1.0, n_a / want_a if want_a else 1.0, n_b / want_b if want_b else 1.0)
    take_a, take_b = int(want_a * scale), int(want_b * scale)
    note = "" if scale == 1 else (f"asked for {total:,} items with {share_b:.0%} from the second pool; the "
                                 f"{'first' if take_a == n_a and want_a > n_a else 'second'} pool has only "
                                 f"{n_a if take_a == n_a and want_a > n_a else n_b:,}, so the mix takes "
                                 f"{take_a:,} + {take_b:,} and keeps the share")
    return take_a, take_b, note
