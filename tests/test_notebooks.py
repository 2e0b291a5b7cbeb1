"""The source notebooks: clean, parameterised the same way, all in the table of contents."""
import ast
import json

import pytest
import yaml

from bielik.book.chapters import CHAPTERS, available
from bielik.book.scales import COMMON, PRESETS

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "notebooks").glob("*.md"))


def code_cells(nb):
    """The chapter's code cells, without the Colab setup cell that comes first (tests/test_publishing.py)."""
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "colab-setup" not in c["metadata"].get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebook_has_no_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_code_cell_compiles_on_this_python(path):
    # a syntax error (say, quotes nested in an f-string, new in Python 3.12) fails here, not an hour into a run
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            try:
                compile(source, f"{path.name} cell {i}", "exec", flags=ast.PyCF_ONLY_AST)
            except SyntaxError as e:
                pytest.fail(f"{path.name}, code cell {i} (starting {source.strip()[:60]!r}): {e}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_comes_first(path):
    nb = json.loads(path.read_text())
    first = code_cells(nb)[0]
    assert "parameters" in first["metadata"].get("tags", [])
    assigned = {}
    for node in ast.parse("".join(first["source"])).body:
        assert isinstance(node, ast.Assign), "the parameters cell holds assignments only"
        assigned[node.targets[0].id] = ast.literal_eval(node.value)
    own = set(PRESETS[path.stem]["tiny"])
    assert set(assigned) == set(COMMON) | own
    assert assigned["scale"] is None and assigned["run_dir"] is None  # None: $BIELIK_SCALE, else tiny
    assert all(assigned[k] is None for k in own), "a chapter's own parameters default to None (= the preset)"
    # papermill's own parser must see every one (it skips lines whose comment it cannot parse)
    import papermill
    assert set(papermill.inspect_notebook(str(path))) == set(assigned)
    # the next code cell hands the notebook's namespace to bielik.start, which reads every one of them
    start = "".join(code_cells(nb)[1]["source"])
    assert f'bielik.start("{path.stem[:2]}", globals())' in start


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_a_level_one_title(path):
    first = json.loads(path.read_text())["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")


def test_every_notebook_is_a_known_chapter_and_in_the_toc():
    chapters = available()
    assert [c.source() for c in chapters] == NOTEBOOKS
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    assert [f for f in files if f.startswith("book/chapters/")] == [f"book/chapters/{c.id}" for c in chapters]
    assert all(c.id in PRESETS for c in chapters)
    assert CHAPTERS[0].id == "00_overview"


def test_every_notebook_is_generated_from_its_text_source():
    from bielik.book import sources

    assert [p.with_suffix(".ipynb") for p in SOURCES] == NOTEBOOKS, "each chapter has a .md source and its .ipynb"
    stale = sources.stale()
    assert not stale, f"{[p.name for p in stale]} differ from their .md sources: run `bielik notebooks`"


def test_a_changed_source_is_noticed_and_regenerated(tmp_path):
    from bielik.book import sources

    for p in (ROOT / "notebooks").glob("00_overview.*"):
        (tmp_path / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    md = tmp_path / "00_overview.md"
    md.write_text(md.read_text(encoding="utf-8").replace("# 00 ", "# 00 (edited) ", 1), encoding="utf-8")
    assert sources.stale(tmp_path) == [tmp_path / "00_overview.ipynb"]
    assert sources.write_notebooks(tmp_path) == [tmp_path / "00_overview.ipynb"]
    assert sources.stale(tmp_path) == []
    first = json.loads((tmp_path / "00_overview.ipynb").read_text())["cells"][0]
    assert "".join(first["source"]).startswith("# 00 (edited) ")


def test_a_broken_source_is_named(tmp_path):
    from bielik.book import sources

    with pytest.raises(sources.SourceError, match="no text source"):
        sources.read_source(tmp_path / "00_overview.md")


def test_bielik_notebooks_check_passes_on_the_committed_notebooks(capsys):
    from bielik.book.cli import main

    assert main(["notebooks", "--check"]) == 0
    assert capsys.readouterr().out == ""
