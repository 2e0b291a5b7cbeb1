"""Headline figures: one JSON file per chapter under runs/<scale>/metrics/, read by the last chapter.

Each figure is a name, a value and a unit. `bielik metrics --scale S` prints them as JSON lines.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from bielik.book.artifacts import read_json, write_json


def metrics_file(run: Path, chapter: str) -> Path:
    return Path(run) / "metrics" / f"{chapter}.json"


def record(run: Path, chapter: str, name: str, value: float | int | str | bool, unit: str = "",
           note: str = "") -> dict:
    """Add or replace one figure of a chapter. Non-finite numbers are refused: they would poison the ledger."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"figure {chapter}/{name} is {value}: record finite numbers only")
    path = metrics_file(run, chapter)
    data = read_json(path) if path.exists() else {"chapter": chapter, "figures": {}}
    entry = {"value": value, "unit": unit}
    if note:
        entry["note"] = note
    data["figures"][name] = entry
    data["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json(path, data)
    return entry


def recorded(run: Path) -> Iterator[dict]:
    """Every recorded figure of a run folder, in chapter order, as {chapter, name, value, unit[, note]}."""
    for path in sorted((Path(run) / "metrics").glob("*.json")):
        data = read_json(path)
        for name, entry in data["figures"].items():
            yield {"chapter": data["chapter"], "name": name, **entry}


def get(run: Path, chapter: str, name: str) -> float | int | str | bool:
    """One recorded figure; a clear error if the chapter has not recorded it."""
    path = metrics_file(run, chapter)
    if not path.exists():
        raise KeyError(f"{path} does not exist: run chapter {chapter} first")
    figs = read_json(path)["figures"]
    if name not in figs:
        raise KeyError(f"{path} has no figure {name!r} (it has: {', '.join(figs)})")
    return figs[name]["value"]
