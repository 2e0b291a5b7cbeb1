"""The chapters' text sources. `notebooks/NN_name.md` (MyST Markdown in jupytext's format) is what maintainers
edit and review; `notebooks/NN_name.ipynb`, which papermill, Colab and the launch buttons open, is generated
from it, without outputs and with cell ids that depend only on the cell's place.

`bielik notebooks` writes the Colab setup cell into every text source and every .ipynb from its source;
`bielik notebooks --check` names the notebooks that differ from their sources (a test does the same).
"""
from __future__ import annotations

from pathlib import Path

from bielik.book.artifacts import write_text
from bielik.book.chapters import Chapter, available

FORMAT = "md:myst"
KERNEL = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}


class SourceError(ValueError):
    """A text source that is missing or that jupytext cannot read as a notebook."""


def read_source(path: Path):
    """The notebook a text source describes (nbformat's NotebookNode), as it is committed: no outputs, the
    kernel the book runs, cell ids from the chapter number and the cell's place."""
    import jupytext

    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no text source for this chapter (write it, or `jupytext --to myst` the .ipynb)")
    try:
        nb = jupytext.read(path, fmt=FORMAT)
    except Exception as e:  # jupytext raises several types for a broken header or cell
        raise SourceError(f"{path}: jupytext cannot read it as MyST Markdown ({type(e).__name__}: {e})") from None
    nb.metadata = dict(KERNEL)
    number = path.stem.split("_")[0]
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{number}-{i:03d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def notebook_text(path: Path) -> str:
    """The .ipynb text generated from the text source at `path`."""
    import nbformat

    return nbformat.writes(read_source(path)) + "\n"


def stale(folder: Path | None = None) -> list[Path]:
    """The notebooks whose committed .ipynb is missing or differs from what their text source generates."""
    out = []
    for ch in available(folder):
        ipynb = ch.source(folder)
        if not ipynb.exists() or ipynb.read_text(encoding="utf-8") != notebook_text(ch.text_source(folder)):
            out.append(ipynb)
    return out


def write_notebooks(folder: Path | None = None) -> list[Path]:
    """Generate every chapter's .ipynb from its text source; return the ones that changed."""
    changed = []
    for ch in available(folder):
        ipynb, text = ch.source(folder), notebook_text(ch.text_source(folder))
        if not ipynb.exists() or ipynb.read_text(encoding="utf-8") != text:
            write_text(ipynb, text)
            changed.append(ipynb)
    return changed


def write_source(chapter: Chapter, nb, folder: Path | None = None) -> Path:
    """Write `nb` as the chapter's text source (for tools that edit cells, such as the Colab setup cell)."""
    import jupytext

    path = chapter.text_source(folder)
    write_text(path, jupytext.writes(nb, fmt=FORMAT))
    return path
