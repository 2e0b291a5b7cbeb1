import os

import pytest

import bielik
from bielik.book.artifacts import MissingArtifact
from bielik.book.scales import ScaleError


def test_start_resolves_presets_and_goes_offline(run, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    ch = bielik.start("00", scale="ci", run_dir=run, seed=3, dpi=None)
    assert ch.params.dpi == 60 and ch.seed == 3
    assert ch.dir == run / "00_overview" and ch.dir.is_dir()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    import huggingface_hub.constants
    assert huggingface_hub.constants.HF_HUB_OFFLINE


def test_start_refuses_unknown_scale_and_parameter(run):
    with pytest.raises(ScaleError, match="unknown scale 'medium'"):
        bielik.start("00", scale="medium", run_dir=run)
    with pytest.raises(ScaleError, match="no parameter 'epochs'"):
        bielik.start("00", scale="ci", run_dir=run, epochs=3)


def test_seed_makes_runs_repeatable(run):
    import numpy as np
    import torch

    draws = []
    for _ in range(2):
        bielik.start("00", scale="ci", run_dir=run, seed=7)
        draws.append((np.random.rand(), torch.rand(1).item()))
    assert draws[0] == draws[1]


def test_missing_artifact_names_the_chapter_to_run(run):
    ch = bielik.start("00", scale="ci", run_dir=run)
    with pytest.raises(MissingArtifact, match=r"chapter 01 \(Data quality\) writes\. Run it first: "
                                              r"bielik run --scale ci --only 01"):
        ch.require("01", "filtered")
    (run / "01_data" / "filtered").mkdir(parents=True)
    assert ch.require("01", "filtered").is_dir()


def test_record_goes_to_the_chapters_metrics(run):
    ch = bielik.start("00", scale="ci", run_dir=run)
    ch.record("x", 1.5, "s")
    assert bielik.book.figures.get(run, "00_overview", "x") == 1.5


def test_start_reads_the_parameters_from_the_notebook_namespace(run):
    # what a parameters cell leaves in the notebook's globals(), with papermill's injected values
    namespace = {"scale": "ci", "run_dir": str(run), "seed": 5, "dpi": 99, "unrelated": 1, "__name__": "__main__"}
    ch = bielik.start("00", namespace)
    assert (ch.scale.name, ch.run, ch.seed, ch.params.dpi) == ("ci", run, 5, 99)
    namespace["dpi"] = None  # None: the preset
    assert bielik.start("00", namespace).params.dpi == 60
    assert bielik.start("00", namespace, dpi=70).params.dpi == 70  # a keyword wins over the namespace
    assert bielik.start("00", {"scale": "ci", "run_dir": str(run)}).seed == 0
