"""The papermill runner and the `bielik` command line, on real notebooks and a real kernel."""
import json
import subprocess
import sys

import nbformat
import pytest

import bielik
from bielik.book import provenance
from bielik.book.chapters import CHAPTERS
from bielik.book.runner import (
    ChapterFailed,
    parse_value,
    run_chapters,
    seed_from,
    select,
)
from bielik.book.scales import ScaleError

from conftest import ROOT


def bielik_cli(*args):
    return subprocess.run([sys.executable, "-m", "bielik", *args], capture_output=True, text=True, cwd=ROOT)


def test_parse_value_types_like_papermill():
    assert parse_value("3") == 3 and parse_value("0.9") == 0.9 and parse_value("true") is True
    assert parse_value("None") is None and parse_value("q4_k_m") == "q4_k_m"


def test_select_only_and_from():
    assert [c.number for c in select(CHAPTERS, only=["3", "05"])] == ["03", "05"]
    assert [c.number for c in select(CHAPTERS, start_from="07")] == ["07", "08", "09"]
    with pytest.raises(ScaleError, match="no source notebook for chapter"):
        select(CHAPTERS[:2], only=["04"])


def test_cli_rejects_unknown_scale():
    p = bielik_cli("run", "--scale", "huge")
    assert p.returncode == 2 and "unknown scale 'huge'" in p.stderr


def test_cli_rejects_unknown_parameter():
    p = bielik_cli("run", "--scale", "ci", "--only", "00", "-p", "learning_rate", "1e-3")
    assert p.returncode == 2
    assert "unknown parameter 'learning_rate'" in p.stderr and "00_overview: dpi, run_dir, scale, seed" in p.stderr


def test_cli_runs_one_chapter_with_an_override(tmp_path):
    # with a run folder of its own and no --out, the executed notebook goes there, not into the book
    p = bielik_cli("run", "--scale", "ci", "--only", "00", "-p", "dpi", "40", "--run-dir", str(tmp_path / "runs"))
    assert p.returncode == 0, p.stderr
    # not a terminal: plain lines, the chapter, each section as it starts, then its wall time
    first, *sections, line = p.stdout.splitlines()
    assert first.strip() == "[00] Overview" and sections and all(s.startswith("[00]") and "§ " in s for s in sections)
    assert line.startswith("[00] Overview") and " ok " in line and line.split(" ok ")[1].split()[1] == "s"
    executed = tmp_path / "runs" / "chapters" / "00_overview.ipynb"
    nb = nbformat.read(executed, as_version=4)
    assert nb.metadata.papermill.parameters == {"scale": "ci", "dpi": 40, "run_dir": str(tmp_path / "runs")}
    # the runner's stamp: what the page's note shows
    run = provenance.read(executed)
    assert run["scale"] == "ci" and run["parameters"] == {"dpi": 40}  # run_dir is the machine's, not shown
    assert run["version"] == bielik.__version__ and run["machine"]["cores"] >= 1 and run["seconds"] > 0
    figures = json.loads((tmp_path / "runs" / "metrics" / "00_overview.json").read_text())["figures"]
    assert figures["upscaled_parameters"]["value"] == 11_168_796_672
    assert figures["wall_time"]["unit"] == "s"
    assert (tmp_path / "runs" / "00_overview" / "pipeline.png").stat().st_size > 0


def failing_notebooks(tmp_path):
    """A notebooks/ folder whose chapter 00 fails in its third cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter that fails"),
                nbformat.v4.new_code_cell('scale = "tiny"\nrun_dir = None\nseed = 0\ndpi = None',
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell('raise ValueError("the corpus is empty")')]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(nb, folder / "00_overview.ipynb")
    return folder


def test_failing_chapter_stops_with_chapter_cell_and_error(tmp_path, capsys):
    with pytest.raises(ChapterFailed) as err:
        run_chapters("ci", notebooks_dir=failing_notebooks(tmp_path), out_dir=tmp_path / "out",
                     run_dir=tmp_path / "runs")
    msg = str(err.value)
    assert "chapter 00 (Overview) failed" in msg
    assert "ValueError: the corpus is empty" in msg
    # [4]: the parameters cell, papermill's injected cell, `x = 1`, then the failing one
    assert 'the cell [4] that starts `raise ValueError("the corpus is empty")`' in msg
    kept = tmp_path / "out" / "00_overview.ipynb"
    assert f"kept for inspection: {kept}" in msg and kept.exists()
    assert "FAILED after" in capsys.readouterr().out
    assert not (tmp_path / "runs" / "metrics").exists()  # no wall time recorded for a failed chapter


def test_stray_notebook_is_an_error(tmp_path):
    folder = failing_notebooks(tmp_path)
    (folder / "10_extra.ipynb").write_text((folder / "00_overview.ipynb").read_text())
    with pytest.raises(ValueError, match="not listed in bielik/book/chapters.py: 10_extra.ipynb"):
        run_chapters("ci", notebooks_dir=folder, out_dir=tmp_path / "out", run_dir=tmp_path / "runs")


def test_base_run_seeds_the_other_chapters_with_links(tmp_path):
    base, new = tmp_path / "base", tmp_path / "new"
    for cid in ("00_overview", "01_data", "04_pretraining"):
        (base / cid).mkdir(parents=True)
        (base / cid / "artifact.bin").write_bytes(cid.encode())
        (base / "metrics").mkdir(exist_ok=True)
        (base / "metrics" / f"{cid}.json").write_text(json.dumps({"chapter": cid, "figures": {}}))
    rerun = select(CHAPTERS, only=["01", "04"])
    assert seed_from(base, new, rerun) == ["00_overview"]
    assert (new / "00_overview" / "artifact.bin").samefile(base / "00_overview" / "artifact.bin")  # a link
    assert not (new / "01_data").exists() and not (new / "metrics" / "04_pretraining.json").exists()
    assert seed_from(base, new, rerun) == []  # what is there already is kept
    with pytest.raises(ScaleError, match="the same folder"):
        seed_from(base, base, rerun)
    with pytest.raises(ScaleError, match="holds no finished chapters"):
        seed_from(tmp_path / "nothing", new, rerun)
    with pytest.raises(ScaleError, match="needs a --run-dir"):
        run_chapters("ci", only=["00"], base_run=base)
