import json
import subprocess
import sys

import pytest

from bielik.book import figures


def test_record_and_read_back(run):
    figures.record(run, "04_pretraining", "val_loss_pl", 3.25, "nats")
    figures.record(run, "04_pretraining", "tokens_per_s", 1200, "tokens/s", note="bf16")
    figures.record(run, "04_pretraining", "val_loss_pl", 3.0, "nats")  # replaced, not duplicated
    figures.record(run, "01_data", "kept_fraction", 0.4)
    assert list(figures.recorded(run)) == [
        {"chapter": "01_data", "name": "kept_fraction", "value": 0.4, "unit": ""},
        {"chapter": "04_pretraining", "name": "val_loss_pl", "value": 3.0, "unit": "nats"},
        {"chapter": "04_pretraining", "name": "tokens_per_s", "value": 1200, "unit": "tokens/s", "note": "bf16"},
    ]
    assert figures.get(run, "04_pretraining", "val_loss_pl") == 3.0


def test_non_finite_figures_are_refused(run):
    with pytest.raises(ValueError, match="04_pretraining/loss is nan"):
        figures.record(run, "04_pretraining", "loss", float("nan"))


def test_missing_figure_names_what_exists(run):
    figures.record(run, "01_data", "kept_fraction", 0.4)
    with pytest.raises(KeyError, match="run chapter 05_sft first"):
        figures.get(run, "05_sft", "loss")
    with pytest.raises(KeyError, match="no figure 'accuracy'.*kept_fraction"):
        figures.get(run, "01_data", "accuracy")


def test_cli_prints_json_lines(run):
    figures.record(run, "00_overview", "upscaled_parameters", 11168796672, "parameters")
    out = subprocess.run([sys.executable, "-m", "bielik", "metrics", "--scale", "ci", "--run-dir", str(run)],
                         capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows == [{"chapter": "00_overview", "name": "upscaled_parameters", "value": 11168796672,
                     "unit": "parameters"}]


def test_cli_metrics_without_a_run_says_what_to_do(tmp_path):
    p = subprocess.run([sys.executable, "-m", "bielik", "metrics", "--scale", "ci", "--run-dir", str(tmp_path)],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert "run the chapters first (bielik run --scale ci)" in p.stderr
