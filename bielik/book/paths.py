"""Where the repository, the run folders and the executed chapters are."""
from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The book's root: $BIELIK_HOME, else the checkout this package sits in, else the working directory."""
    if os.environ.get("BIELIK_HOME"):
        return Path(os.environ["BIELIK_HOME"]).resolve()
    here = Path(__file__).resolve().parents[2]  # bielik/book/paths.py -> the checkout
    if (here / "pyproject.toml").exists() and (here / "notebooks").is_dir():
        return here
    return Path.cwd().resolve()


def runs_dir(scale: str, run_dir: str | os.PathLike | None = None) -> Path:
    """The run folder of a scale: `run_dir` when given, else runs/<scale> under the root."""
    return Path(run_dir).resolve() if run_dir else repo_root() / "runs" / scale
