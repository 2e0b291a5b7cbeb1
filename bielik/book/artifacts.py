"""Artifacts: written atomically, read with errors that say what to do.

A killed run must never leave a half-written file or folder that a later chapter would take for
complete, so every write goes to a temporary sibling first and is renamed into place at the end.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class MissingArtifact(FileNotFoundError):
    """An artifact an earlier chapter should have written is not there."""


@contextmanager
def atomic_path(final: str | os.PathLike, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success move it onto `final`, on error remove it.

    Use it for anything a library writes itself (`model.save_pretrained(tmp)`, `booster.save_model(tmp)`).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    target = tmp if is_dir else tmp / final.name
    try:
        yield target
        if not target.exists():
            raise FileNotFoundError(f"nothing was written to {target} for {final}")
        if is_dir and final.exists():
            # A folder cannot be renamed over another: move the old one aside first.
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(target, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(target, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, obj: object) -> Path:
    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=_jsonable) + "\n")


def write_notebook(path: str | os.PathLike, nb: dict) -> Path:
    """An executed notebook's JSON, atomically, in nbformat's own layout (one-space indent, UTF-8)."""
    return write_text(path, json.dumps(nb, ensure_ascii=False, indent=1) + "\n")


def read_json(path: str | os.PathLike) -> object:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}, line {e.lineno}: not valid JSON ({e.msg}); "
                         f"delete it and rerun the chapter that writes it") from None


def _jsonable(x: object) -> object:
    if hasattr(x, "item"):  # numpy and torch scalars
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} as JSON")
