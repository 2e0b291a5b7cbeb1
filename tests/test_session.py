import json
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


def test_bf16_auto_is_measured_once_per_machine_and_kept(run, monkeypatch):
    from bielik.book.scales import PRESETS
    from bielik.training import precision

    assert PRESETS["05_sft"]["tiny"]["bf16"] == "auto" and PRESETS["05_sft"]["full"]["bf16"] is True
    calls = []
    monkeypatch.setattr(precision, "probe", lambda: calls.append(1) or {
        "bf16": False, "fp32_gflops": 140.0, "bf16_gflops": 0.9, "seconds": 1.0, "why": "bf16 slower"})
    ch = bielik.start("05", scale="ci", run_dir=run)
    assert ch.params.bf16 is False and ch.precision["reused"] is False
    assert "bf16: auto -> False (bf16 slower, measured now)" in repr(ch)
    again = bielik.start("06", scale="ci", run_dir=run)  # another chapter of the run: not measured again
    assert again.params.bf16 is False and again.precision["reused"] is True and calls == [1]
    assert bielik.start("05", scale="ci", run_dir=run, bf16=True).params.bf16 is True  # a choice is kept
    kept = json.loads((run / precision.RECORD).read_text())
    kept["machine"]["cpu"] = "another CPU"
    (run / precision.RECORD).write_text(json.dumps(kept))
    bielik.start("05", scale="ci", run_dir=run)  # the file says another machine: measured here
    assert calls == [1, 1]


def test_the_precision_probe_measures_both_rates():
    from bielik.training.precision import probe

    p = probe()
    assert p["fp32_gflops"] > 0 and p["bf16_gflops"] > 0 and p["bf16"] == (p["bf16_gflops"] > p["fp32_gflops"])
    assert p["seconds"] < 10


def test_a_parameter_shadowed_by_an_import_is_named(run):
    import json as dpi  # a notebook that imported something under a parameter's name, then reran the start cell

    with pytest.raises(ScaleError, match="parameter 'dpi' is bound to <module 'json'"):
        bielik.start("00", {"scale": "ci", "run_dir": str(run), "dpi": dpi})
