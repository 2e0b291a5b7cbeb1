"""Readers of the files in data/ that name the file and line of a malformed row: gzip/xz text, JSON lines,
TSV, and the DYK question files. Every chapter's data goes through them."""
from __future__ import annotations

import csv
import gzip
import json
import lzma
from pathlib import Path
from typing import Iterator


class DataError(ValueError):
    """A malformed data file, named with its line."""


def open_text(path: Path):
    """Open .gz, .xz or plain text as UTF-8; undecodable bytes become U+FFFD instead of a crash."""
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    return opener(path, "rt", encoding="utf-8", errors="replace", newline="")


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with open_text(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}, line {n}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}, line {n}: expected a JSON object, got {type(row).__name__}")
            yield n, row


def read_tsv(path: Path, columns: int, quoting=csv.QUOTE_NONE) -> Iterator[tuple[int, list[str]]]:
    """Rows of a tab-separated file that must have exactly `columns` fields."""
    with open_text(path) as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t", quoting=quoting), 1):
            if len(row) != columns:
                raise DataError(f"{path}, line {n}: expected {columns} tab-separated fields, found {len(row)}")
            yield n, row


def unquote(field: str) -> str:
    """Undo the CSV quoting some KLEJ DYK fields carry ("...""Yorktown""..."): the file is read with QUOTE_NONE."""
    field = field.strip()
    if len(field) > 1 and field[0] == field[-1] == '"':
        field = field[1:-1].replace('""', '"').strip()
    return field


def read_dyk(path: Path) -> Iterator[tuple[int, str, str, str, int]]:
    """KLEJ DYK rows: (line, question id, question, candidate sentence, 1 if it answers the question else 0)."""
    for n, (q_id, question, sentence, target) in read_tsv(path, 4):
        if target not in ("0", "1"):
            raise DataError(f"{path}, line {n}: target must be 0 or 1, got {target!r}")
        yield n, q_id, unquote(question), unquote(sentence), int(target)


def dyk_eval_ids(data_dir: Path) -> set[str]:
    """Question ids of the DYK evaluation set (dev). KLEJ's train and dev split rows, not questions, so the
    training side must leave these out."""
    return {q_id for _, q_id, *_ in read_dyk(Path(data_dir) / "klej" / "klej_dyk" / "dev.tsv.gz")}
