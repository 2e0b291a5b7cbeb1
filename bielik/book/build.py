"""Build the Jupyter Book (1.x, Sphinx) from the executed chapters, as CI does: -W -n --keep-going."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bielik.book.chapters import available
from bielik.book.paths import repo_root


class BookBuildFailed(RuntimeError):
    pass


def build_book(root: Path | None = None) -> Path:
    """Build the HTML book under <root>/_build/html and return the path of its index page."""
    root = Path(root or repo_root())
    missing = [c for c in available() if not (root / "book" / "chapters" / f"{c.id}.ipynb").exists()]
    if missing:
        raise BookBuildFailed("not executed yet: " + ", ".join(f"{c.number} ({c.title})" for c in missing)
                              + ". Run them first: bielik run --only " + " ".join(c.number for c in missing))
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(root), "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)  # drop Sphinx's colours
    if proc.returncode != 0:
        tail = "\n".join(log.splitlines()[-40:])
        raise BookBuildFailed(f"jupyter-book build failed (exit {proc.returncode}); "
                              f"reports are in {root / '_build/html/reports'}\n{tail}")
    index = root / "_build" / "html" / "index.html"
    print(f"book built: {index}")
    return index
