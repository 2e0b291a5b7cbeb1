"""The `small` scale without a GPU or a network: its hub assets, `bielik fetch` and `doctor`, `--smoke`, and its
chapters run on a local hub snapshot (tests/local_hub.py) with the hub off."""
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bielik.book import doctor, hub, scales

import local_hub

ROOT = Path(__file__).resolve().parents[1]


def test_small_up_scales_smollm2_and_filters_a_hub_corpus_and_full_uses_mistral():
    small = {a.repo_id: a for a in hub.assets("small")}
    tasks = {"allegro/klej-polemo2-out", "allegro/klej-nkjp-ner", "sdadas/8tags", "allegro/klej-dyk", "sdadas/ppc"}
    assert set(small) == {"HuggingFaceTB/SmolLM2-360M", "HPLT/HPLT2.0_cleaned"} | tasks
    assert small["sdadas/ppc"].used_by == "task ppc"
    assert small["HuggingFaceTB/SmolLM2-360M"].used_by == "02 base_tokenizer, 03 base_model"
    assert small["HPLT/HPLT2.0_cleaned"].patterns == ("pol_Latn/train-00000-of-*.parquet",)  # the first shard
    full = {a.repo_id: a for a in hub.assets("full")}
    assert set(full) == {"mistralai/Mistral-7B-v0.2", "HPLT/HPLT2.0_cleaned"} | tasks
    assert full["HPLT/HPLT2.0_cleaned"].patterns == ("pol_Latn/train-*.parquet",)
    assert hub.assets("tiny") == [] and hub.assets("ci") == []
    p = scales.preset("03_upscaling", "small")
    assert (p["n_layers"], p["m"], 2 * (p["n_layers"] - p["m"])) == (32, 7, 50)  # the report's map
    # model files only: no onnx/, GGUF or Mistral's consolidated.safetensors beside the safetensors shards
    assert not hub._matches("consolidated.safetensors", hub.MODEL_FILES)
    assert not hub._matches("onnx/model.onnx", hub.MODEL_FILES)
    assert hub._matches("model-00001-of-00003.safetensors", hub.MODEL_FILES)


def test_the_tasks_read_their_hub_sets_at_small_as_the_repository_files_at_tiny(tmp_path, monkeypatch):
    """The hub sets' own columns (the leaderboard's harness reads them) come out as the same documents as the
    repository's copies; a row with an unknown label names the set, the file and the row."""
    from huggingface_hub import constants

    from bielik.data.readers import DataError
    from bielik.evaluation import polish_tasks

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.NotCached, match="dataset allegro/klej-dyk .*bielik fetch --scale small"):
        polish_tasks.docs("dyk", ROOT / "data", "small")
    for name, repo_id in scales.HUB_TASK_SETS.items():
        local_hub.eval_set(local_hub.snapshot(tmp_path / "hub", repo_id, "dataset"), repo_id, rows=30)
        test, fewshot = polish_tasks.docs(name, ROOT / "data", "small")
        here_test, here_fewshot = polish_tasks.docs(name, ROOT / "data")
        assert len(test) == 30 and fewshot == here_fewshot[:30]
        assert sorted(map(str, test)) == sorted(map(str, here_test[:30]))  # the same documents, shuffled again
    # cbd and the quiz have no hub set: the repository's files at every scale
    assert polish_tasks.docs("cbd", ROOT / "data", "small") == polish_tasks.docs("cbd", ROOT / "data")
    import pandas as pd

    bad = next((tmp_path / "hub").glob("datasets--sdadas--ppc/snapshots/*/data/test-*.parquet"))
    pd.DataFrame({"sentence_A": ["a"], "sentence_B": ["b"], "label": [7]}).to_parquet(bad)
    with pytest.raises(DataError, match=r"hub set sdadas/ppc, test-00000-of-00001.parquet, row 0: .*unknown label 7"):
        polish_tasks.docs("ppc", ROOT / "data", "small")


def test_an_unknown_corpus_layout_is_a_clear_error():
    with pytest.raises(ValueError, match="knows the file layout of"):
        hub.dataset_patterns("someone/corpus:pl", "small")


def test_smoke_caps_counts_at_their_ci_values_and_nothing_else():
    capped = scales.smoke("04_pretraining", "small")
    assert capped == {"steps": 12, "warmup": 2, "eval_every": 4, "save_every": 6, "eval_limit": 8, "heldout_rows": 8,
                      "batch_size": 4, "grad_accum": 1}
    assert "context" not in capped and "lr" not in capped and "polish_share" not in capped
    data = scales.smoke("01_data", "small")
    assert data["docs_per_source"] == 40  # 0 (all) at small is capped too
    assert data["hub_docs"] == 200  # unused at ci, so a cap of its own
    # base_steps 0 stays 0 (no stand-in to pretrain): there 0 means none, not all
    assert scales.smoke("03_upscaling", "small") == {"base_steps": 0, "heldout_rows": 8, "batch_size": 4}
    for chapter in scales.PRESETS:
        assert set(scales.smoke(chapter, "small")) <= scales.SMOKE_CAPPED


def test_smoke_caps_the_yardsticks_in_the_kernels(monkeypatch):
    monkeypatch.delenv(scales.SMOKE_ENV, raising=False)
    assert scales.yardstick_sizes("small") == {"grammar_pairs": 0, "heldout_bytes": 2_000_000}
    monkeypatch.setenv(scales.SMOKE_ENV, "1")
    assert scales.yardstick_sizes("small") == scales.YARDSTICKS["ci"]


def test_the_local_cache_is_found_and_doctor_says_what_is_there(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    before = {r["part"]: r for r in doctor.checks(tmp_path, scale="small")}
    assert before["model HuggingFaceTB/SmolLM2-360M"]["status"] == doctor.MISSING
    assert "bielik fetch --scale small" in before["dataset HPLT/HPLT2.0_cleaned"]["detail"]
    local_hub.build(tmp_path / "hub", corpus_rows=20)
    files = hub.local_files(hub.assets("small")[0])
    assert {p.name for p in files} >= {"config.json", "model.safetensors", "tokenizer.json"}
    after = {r["part"]: r for r in doctor.checks(tmp_path, scale="small")}
    assert after["model HuggingFaceTB/SmolLM2-360M"]["status"] == doctor.OK
    assert after["dataset HPLT/HPLT2.0_cleaned"]["detail"].startswith("cached: 1 files")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = hub.Asset("dataset", "HPLT/HPLT2.0_cleaned", ("deu_Latn/*.parquet",), "")
    with pytest.raises(hub.NotCached, match="bielik fetch --scale small"):
        hub.require_local(missing, "small")


def test_fetch_lists_sizes_and_downloads_only_what_the_cache_lacks(monkeypatch):
    listing = {"HuggingFaceTB/SmolLM2-360M": [("config.json", 861), ("model.safetensors", 723_674_912)],
               "HPLT/HPLT2.0_cleaned": [("pol_Latn/train-00000-of-00512.parquet", 1_200_000_000)]}
    tasks = [a.repo_id for a in hub.assets("small") if a.patterns == hub.EVAL_FILES]
    listing |= {repo: [("data/test-00000-of-00001.parquet", 1_000)] for repo in tasks}
    monkeypatch.setattr(hub, "remote_files", lambda a: listing[a.repo_id])
    monkeypatch.setattr(hub, "local_files", lambda a: [])
    fetched = []
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo, **kw: fetched.append((repo, kw)))
    out = io.StringIO()
    assert hub.fetch("small", listing_only=True, stream=out) == 861 + 723_674_912 + 1_200_000_000 + 5_000
    text = out.getvalue()
    assert "723.7 MB" in text and "1.2 GB" in text and "1.9 GB" in text and not fetched
    hub.fetch("small", stream=io.StringIO())
    assert [r for r, _ in fetched] == ["HuggingFaceTB/SmolLM2-360M", "HPLT/HPLT2.0_cleaned"] + tasks
    assert fetched[1][1] == {"repo_type": "dataset", "allow_patterns": ["pol_Latn/train-00000-of-*.parquet"]}
    out = io.StringIO()
    assert hub.fetch("tiny", stream=out) == 0 and "nothing to fetch" in out.getvalue()


def test_fetch_without_a_network_says_so_in_one_line(monkeypatch, capsys):
    import httpx

    from bielik.book.cli import main

    def offline(asset):
        raise httpx.ConnectError("[Errno -2] Name or service not known")

    monkeypatch.setattr(hub, "remote_files", offline)
    assert main(["fetch", "--scale", "small", "--list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bielik fetch: model HuggingFaceTB/SmolLM2-360M: the hub's file listing failed (ConnectError")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_small_chapters_run_on_a_local_hub_snapshot_with_the_hub_off(tmp_path):
    """`bielik run --scale small --smoke`, every chapter, on SmolLM2's architecture (32 layers, tied embeddings,
    byte-level BPE; 64 wide, so that its rows are 64 and 128 long, which K-quants' 256 does not divide and GPTQ groups
    as SmolLM2's 960 and 2,560), a parquet shard and the tasks' hub sets, all under their real ids in a temporary HF
    cache, with HF_HUB_OFFLINE=1."""
    local_hub.build(tmp_path / "hf" / "hub", hidden=64)
    run = tmp_path / "runs" / "small"
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bielik", "run", "--scale", "small", "--smoke", "--run-dir", str(run)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    print(proc.stdout, f"\nwall {time.perf_counter() - t0:.0f} s")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    from bielik.book.figures import recorded

    figures = {(r["chapter"], r["name"]): r["value"] for r in recorded(run)}
    info = json.loads((run / "02_tokenizer" / "info.json").read_text())
    assert info["base_tokenizer"] == "HuggingFaceTB/SmolLM2-360M" and info["padded_vocab_size"] % 128 == 0
    config = json.loads((run / "03_upscaling" / "upscaled" / "config.json").read_text())
    assert config["num_hidden_layers"] == 50 and config["architectures"] == ["LlamaForCausalLM"]
    assert config["vocab_size"] == info["padded_vocab_size"] and config["tie_word_embeddings"]
    assert figures["03_upscaling", "upscaled_parameters"] > figures["03_upscaling", "base_parameters"]
    assert figures["02_tokenizer", "fertility_pl"] > 0 and figures["02_tokenizer", "fertility_pl_own"] > 0
    # chapter 01 read the parquet shard through datatrove, from the cache
    from bielik.data import corpus_pipeline

    cleaned = corpus_pipeline.records(run / "01_data" / "corpus", "cleaned")
    assert any(d["source"] == "hub" for d in cleaned)
    # the byte-level BPE went through llama.cpp's converter; the tasks read their hub sets
    from bielik.deploy import gguf_files
    from bielik.evaluation import harness

    assert gguf_files.check(run / "08_quantization" / "gguf" / "f16.gguf")["architecture"] == "llama"
    evaluated = harness.stages(run)
    assert evaluated and all(r.get("task_data") == "hub" for r in evaluated)
