"""Publishing and teaching: the run stamp under each chapter, the timings table, the launch buttons, the Colab
setup cell, the exercises' solutions, and the GitHub Actions workflow."""
import json
import subprocess
import sys
import types

import nbformat
import pytest
import yaml

import bielik
from bielik.book import colab, provenance, sphinx_ext
from bielik.book.chapters import available

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def executed(path, parameters, duration=12.5, stamp=None):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"parameters": parameters, "duration": duration,
                                "start_time": "2026-11-24T10:11:12.000000"}
    if stamp:
        nb.metadata["bielik"] = stamp
    nbformat.write(nb, path)
    return path


STAMP = {"version": "0.1.0", "commit": "abc1234", "scale": "tiny",
         "machine": {"cores": 2, "cpu": "Test CPU", "memory_gb": 24.0, "gpu": None, "python": "3.11.9",
                     "torch": "2.13.0"}}


def test_stamp_and_read_round_trip(tmp_path):
    nb = executed(tmp_path / "04_pretraining.ipynb", {"scale": "tiny", "steps": 300, "run_dir": "/x/runs"})
    provenance.stamp(nb, "tiny", ROOT)
    run = provenance.read(nb)
    assert run["scale"] == "tiny" and run["parameters"] == {"steps": 300} and run["seconds"] == 12.5
    assert run["version"] == bielik.__version__
    assert run["machine"]["cores"] >= 1 and run["machine"]["torch"].startswith("2.13")
    assert run["commit"] is None or len(run["commit"].split("+")[0]) >= 7
    assert list(tmp_path.iterdir()) == [nb]  # the atomic write left nothing beside it


def test_commit_outside_git_is_none(tmp_path):
    assert provenance.commit(tmp_path) is None


def test_footer_lines():
    run = {"scale": "tiny", "parameters": {"steps": 300}, "version": "0.1.0", "commit": "abc1234",
           "machine": STAMP["machine"], "seconds": 139.4, "started": "2026-11-24T10:11:12.000000"}
    assert sphinx_ext.footer_lines(run) == [
        "Scale `tiny`; parameters: the `tiny` preset of bielik/book/scales.py, with steps=300.",
        "Package: bielik 0.1.0, commit abc1234.",
        "Executed by papermill in 139 s, started 2026-11-24 10:11 UTC, on 2 CPU cores (Test CPU, 24 GB), no GPU."]
    plain = {**run, "parameters": {}, "version": None, "commit": None, "machine": None}
    lines = sphinx_ext.footer_lines(plain)
    assert "preset of bielik/book/scales.py, unchanged" in lines[0]
    assert "unrecorded bielik version (plain papermill)" in lines[1] and "an unrecorded machine" in lines[2]


def test_timings_record_and_table(tmp_path):
    chapters = tmp_path / "book" / "chapters"
    chapters.mkdir(parents=True)
    executed(chapters / "00_overview.ipynb", {"scale": "tiny"}, 4.04, STAMP)
    executed(chapters / "01_data.ipynb", {"scale": "tiny"}, 139.0, STAMP)
    record = provenance.timings(chapters)
    assert record["scale"] == "tiny" and record["machine"]["cores"] == 2
    assert record["chapters"] == [{"chapter": "00_overview", "seconds": 4.0}, {"chapter": "01_data", "seconds": 139.0}]
    (tmp_path / "book" / "timings.json").write_text(json.dumps(record))
    rows, reference = sphinx_ext.timings_rows(tmp_path)
    assert [(r["chapter"], r["reference"], r["seconds"]) for r in rows] == [
        ("00_overview", 4.0, 4.04), ("01_data", 139.0, 139.0)]
    # chapters from two runs, or without the runner's stamp, make no reference
    executed(chapters / "02_tokenizer.ipynb", {"scale": "ci"}, 1.0, {**STAMP, "scale": "ci"})
    with pytest.raises(ValueError, match="different scales"):
        provenance.timings(chapters)
    executed(chapters / "02_tokenizer.ipynb", {"scale": "tiny"}, 1.0)
    with pytest.raises(ValueError, match="02_tokenizer .* carry no timing stamp"):
        provenance.timings(chapters)
    with pytest.raises(ValueError, match="no executed chapters"):
        provenance.timings(tmp_path)


def test_hosting_repository_comes_from_github_actions():
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "someone/fork", "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REF_NAME": "v0.2.0"}
    assert sphinx_ext.hosting_repository(env) == ("https://github.com/someone/fork", "v0.2.0")
    assert sphinx_ext.hosting_repository({}) == (None, None)  # _config.yml's repository stays
    assert sphinx_ext.hosting_repository({**env, "BIELIK_REPOSITORY": "https://github.com/a/b"})[0] == \
        "https://github.com/a/b"


def test_launch_buttons_open_the_source_notebook():
    url = "https://colab.research.google.com/github/o/r/blob/main/book/chapters/06_dpo.ipynb"
    context = {"header_buttons": [{"label": "launch-buttons", "buttons": [{"url": url}, {"type": "javascript"}]},
                                  {"label": "download-buttons", "buttons": [{"url": "../_sources/x.ipynb"}]}]}
    sphinx_ext.launch_source_notebooks(None, "book/chapters/06_dpo", None, context, None)
    assert context["header_buttons"][0]["buttons"][0]["url"].endswith("/blob/main/notebooks/06_dpo.ipynb")
    assert context["header_buttons"][1]["buttons"][0]["url"] == "../_sources/x.ipynb"


# --- the Colab setup cell ----------------------------------------------------------------------------------

def setup_cell_of(path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"][0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_the_colab_setup(path):
    cell = setup_cell_of(path)
    assert colab.TAG in cell.metadata["tags"] and "remove-cell" in cell.metadata["tags"]
    assert cell.source == colab.setup_cell(path.stem[:2], colab.repository_url()).rstrip("\n"), \
        "run `bielik notebooks`"
    assert ("[quantization]" in cell.source) == (path.stem >= "08")


def test_setup_cell_does_nothing_outside_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    exec(setup_cell_of(NOTEBOOKS[0]).source, {})
    assert calls == []


def test_setup_cell_on_colab_clones_installs_and_prepares(monkeypatch, tmp_path):
    calls, prepared = [], []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: calls.append(cmd))
    monkeypatch.setattr(colab, "prepare", lambda chapter: prepared.append(chapter))
    monkeypatch.setattr("os.chdir", lambda path: None)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(setup_cell_of(ROOT / "notebooks" / "08_quantization.ipynb").source, {})
    assert calls[0] == ["git", "clone", "--depth", "1", colab.repository_url(), colab.CLONE]
    assert calls[1][-2:] == ["-e", colab.CLONE + "[quantization]"]
    assert prepared == ["08"] and sys.path[0] == colab.CLONE


def test_scale_and_earlier_chapters(tmp_path, monkeypatch):
    assert colab.choose_scale(gpu=True) == "small" and colab.choose_scale(gpu=False) == "tiny"
    from bielik.book import figures
    figures.record(tmp_path, "00_overview", "wall_time", 4.0, "s")
    figures.record(tmp_path, "01_data", "kept", 0.4)  # killed before the runner recorded its time
    assert colab.earlier_to_run("03", tmp_path) == ["01", "02"]
    assert colab.earlier_to_run("00", tmp_path) == []


def test_prepare_keeps_a_chosen_scale_and_runs_nothing_before_chapter_00(monkeypatch, capsys):
    monkeypatch.setenv("BIELIK_SCALE", "ci")
    monkeypatch.setenv("BIELIK_HOME", str(ROOT))  # prepare sets it when unset; the test must leave it as it was
    assert colab.prepare("00") == "ci"
    assert "scale 'ci'" in capsys.readouterr().out


def test_scale_none_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BIELIK_SCALE", "ci")
    assert bielik.start("00", scale=None, run_dir=tmp_path).scale.name == "ci"
    monkeypatch.delenv("BIELIK_SCALE")
    assert bielik.start("00", scale=None, run_dir=tmp_path).scale.name == "tiny"


# --- exercises -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_ends_with_exercises_and_hidden_solutions(path):
    last = nbformat.read(path, as_version=4).cells[-1]
    assert last.cell_type == "markdown" and "## Exercises" in last.source
    text = last.source[last.source.index("## Exercises"):]
    questions = [n for n in range(1, 5) if f"**{n}.**" in text]
    solutions = text.count('<details class="solution">')
    assert 2 <= len(questions) <= 3 and solutions == len(questions) == text.count("</details>")
    for n in questions:  # each solution follows its question
        assert text.index(f"**{n}.**") < text.index(f"<summary>Solution {n}</summary>")


# --- the workflow --------------------------------------------------------------------------------------------

def test_workflow_builds_like_run_sh_and_deploys_only_on_a_tag():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = wf[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"] == {"tags": ["v*"]} and "workflow_dispatch" in triggers
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    steps = {s.get("name", s.get("uses")): s for s in build["steps"]}
    assert steps["Execute every chapter at tiny and build the book"]["run"] == "bash run.sh book"
    kept = steps["Keep the execution reports of a failed build"]
    assert kept["if"] == "failure()"
    for path in ("book/chapters/*.ipynb", "_build/html/reports/", "runs/tiny/metrics/"):
        assert path in kept["with"]["path"]
    assert steps["Keep the built site"]["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build" and deploy["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert wf["permissions"] == {"contents": "read"}
    # run.sh book is `bielik book`, whose build is the strict one
    assert "exec .venv/bin/bielik book" in (ROOT / "run.sh").read_text()
    assert '"-W", "-n", "--keep-going"' in (ROOT / "bielik" / "book" / "build.py").read_text()


def test_config_loads_the_book_extension():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "bielik.book.sphinx_ext" in config["sphinx"]["extra_extensions"]
    assert config["launch_buttons"]["colab_url"] and config["launch_buttons"]["binderhub_url"]
    assert [c.id for c in available()] == [p.stem for p in NOTEBOOKS]
