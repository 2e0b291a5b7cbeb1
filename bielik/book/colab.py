"""Running a chapter from the book's Colab button.

Every source notebook's first code cell is `setup_cell(chapter)`. On Colab it clones the repository (the URL
in _config.yml), installs this package, and calls `prepare`: the scale is `small` with a GPU and `tiny` on a
CPU, and the earlier chapters this one reads from run first if they have not run yet. Anywhere else the cell
does nothing. `bielik notebooks` writes the cell into every chapter's text source (a test keeps them equal).
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from bielik.book.chapters import CHAPTERS, available, get_chapter
from bielik.book.paths import repo_root, runs_dir

CLONE = "/content/bielik-book"
TAG = "colab-setup"
QUANTIZATION_FROM = "08"  # chapters from here on need llama.cpp (the `quantization` extra)

TEMPLATE = '''\
# On Colab this cell installs the book's package and picks the scale: `tiny` on a CPU, `small` on a GPU.
# Anywhere else it does nothing (install with `bash run.sh test` or environment.yml; see "How to run the book").
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    BOOK = "{clone}"
    if not os.path.isdir(BOOK):
        subprocess.run(["git", "clone", "--depth", "1", "{repo}", BOOK], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", BOOK + "{extras}"], check=True)
    sys.path.insert(0, BOOK)
    os.chdir(BOOK)
    from bielik.book.colab import prepare
    prepare("{number}")
'''


def repository_url(root: Path | None = None) -> str:
    """The repository the book is published from: repository.url in _config.yml."""
    config = yaml.safe_load((Path(root or repo_root()) / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"]


def setup_cell(chapter: str, repo: str) -> str:
    ch = get_chapter(chapter)
    extras = "[quantization]" if ch.number >= QUANTIZATION_FROM else ""
    return TEMPLATE.format(clone=CLONE, repo=repo, extras=extras, number=ch.number)


def choose_scale(gpu: bool) -> str:
    return "small" if gpu else "tiny"


def earlier_to_run(chapter: str, run: Path) -> list[str]:
    """Numbers of the chapters before `chapter` that have not finished in `run` (the runner records wall_time
    last, so a chapter killed half-way counts as not run)."""
    from bielik.book import figures

    number = get_chapter(chapter).number
    todo = []
    for ch in CHAPTERS:
        if ch.number >= number:
            break
        try:
            figures.get(run, ch.id, "wall_time")
        except KeyError:
            todo.append(ch.number)
    return todo


def prepare(chapter: str) -> str:
    """Choose the scale for this machine (BIELIK_SCALE, which a notebook's `scale = None` reads) and run the
    earlier chapters that are missing. Returns the scale."""
    import torch

    scale = os.environ.get("BIELIK_SCALE") or choose_scale(torch.cuda.is_available())
    os.environ["BIELIK_SCALE"] = scale
    os.environ.setdefault("BIELIK_HOME", str(repo_root()))
    print(f"bielik: scale {scale!r} ({'GPU: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU'})")
    if get_chapter(chapter).number >= QUANTIZATION_FROM:
        from bielik.deploy.gguf_files import install_converter
        install_converter()
    todo = earlier_to_run(chapter, runs_dir(scale))
    if todo:
        from bielik.book.runner import run_chapters
        print(f"bielik: chapter {get_chapter(chapter).number} reads what chapters {', '.join(todo)} write; "
              f"running them first at {scale!r} (each prints its time when done)")
        run_chapters(scale, only=todo)
    return scale


def sync(notebooks_dir: Path | None = None, repo: str | None = None) -> list[Path]:
    """Write the setup cell as the first code cell of every chapter's text source; return the sources changed."""
    import nbformat

    from bielik.book import sources

    notebooks_dir = Path(notebooks_dir or repo_root() / "notebooks")
    repo = repo or repository_url()
    changed = []
    for ch in available(notebooks_dir):
        nb = sources.read_source(ch.text_source(notebooks_dir))
        source = setup_cell(ch.number, repo).rstrip("\n")
        cells = [c for c in nb.cells if TAG in c.metadata.get("tags", [])]
        if cells and cells[0].source == source:
            continue
        if cells:
            cells[0].source = source
        else:
            first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
            # remove-cell: the published page does not show it; Colab does
            nb.cells.insert(first_code, nbformat.v4.new_code_cell(source, metadata={"tags": [TAG, "remove-cell"]}))
        changed.append(sources.write_source(ch, nb, notebooks_dir))
    return changed
