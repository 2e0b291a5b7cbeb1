"""GGUF through llama.cpp (bielik.deploy.gguf_files, bielik.deploy.llama_cpp): conversion, quantization with and without an importance
matrix, the agreement figures, generation, and clear errors for missing, truncated and foreign files."""
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bielik.deploy import gguf_files, llama_cpp

from conftest import tiny_mistral
from local_hub import polish_lines, smollm2_model, smollm2_tokenizer

DATA = Path(__file__).resolve().parent.parent / "data"


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(gguf_files.GGUFError, match="no such GGUF file"):
        gguf_files.check(tmp_path / "model.gguf")
    with pytest.raises(gguf_files.GGUFError, match="no such GGUF file"):
        llama_cpp.generate(tmp_path / "model.gguf", [1, 2], 4, 64)


def test_a_file_that_is_not_gguf_is_named(tmp_path):
    (tmp_path / "model.gguf").write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(gguf_files.GGUFError, match="not a GGUF file"):
        gguf_files.check(tmp_path / "model.gguf")


def test_a_cut_header_is_named(tmp_path):
    # magic, version 3, 5 tensors, 2 metadata entries - and nothing after
    (tmp_path / "model.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 5, 2))
    with pytest.raises(gguf_files.GGUFError, match="truncated or damaged"):
        gguf_files.check(tmp_path / "model.gguf")


def test_a_header_with_no_tensors_is_not_a_model(tmp_path):
    # magic, version 3, no tensors, no metadata: a valid GGUF header and nothing else
    (tmp_path / "model.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0))
    with pytest.raises(gguf_files.GGUFError, match=r"not a model: 0 tensors, no general.architecture"):
        gguf_files.check(tmp_path / "model.gguf")


def test_a_model_folder_without_the_sentencepiece_file_is_refused(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    with pytest.raises(gguf_files.GGUFError, match="no tokenizer.model"):
        gguf_files.convert(tmp_path / "model", tmp_path / "f16.gguf")
    assert not (tmp_path / "f16.gguf").exists()


def _tokenizer_json(folder, pre, normalizer=None):
    folder.mkdir(exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps({"normalizer": normalizer, "pre_tokenizer": pre}))
    return folder


def test_the_pre_tokenizer_is_read_from_the_structure_of_tokenizer_json(tmp_path):
    gpt2 = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    digits = {"type": "Digits", "individual_digits": True}
    smollm = {"type": "Sequence", "pretokenizers": [digits, gpt2]}
    assert gguf_files.known_pre_tokenizer(_tokenizer_json(tmp_path / "a", gpt2)) == "gpt-2"
    assert gguf_files.known_pre_tokenizer(_tokenizer_json(tmp_path / "b", smollm)) == "smollm"
    # what llama.cpp would not split the same way: a normalizer, digits in groups, SentencePiece's Metaspace
    assert gguf_files.known_pre_tokenizer(_tokenizer_json(tmp_path / "c", smollm, {"type": "NFC"})) is None
    grouped = {"type": "Sequence", "pretokenizers": [{**digits, "individual_digits": False}, gpt2]}
    assert gguf_files.known_pre_tokenizer(_tokenizer_json(tmp_path / "d", grouped)) is None
    assert gguf_files.known_pre_tokenizer(_tokenizer_json(tmp_path / "e", {"type": "Metaspace"})) is None
    assert gguf_files.known_pre_tokenizer(tmp_path) is None  # no tokenizer.json


def test_unknown_format_is_named(tmp_path):
    with pytest.raises(gguf_files.GGUFError, match="unknown GGUF format 'Q3_X'"):
        gguf_files.quantize(tmp_path / "a.gguf", tmp_path / "b.gguf", "Q3_X")


def test_mean_kld_and_top_agreement_by_hand():
    ref = np.log(np.array([[[0.5, 0.5], [0.9, 0.1], [0.5, 0.5]]], dtype=np.float64))
    oth = np.log(np.array([[[0.25, 0.75], [0.9, 0.1], [0.5, 0.5]]], dtype=np.float64))
    ids = [0, 1, 0]  # next tokens 1 and 0
    out = llama_cpp.compare(ref, oth, [ids])
    kld0 = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    assert out["kld"] == pytest.approx(kld0 / 2)
    assert out["perplexity"] == pytest.approx(np.exp(-(np.log(0.75) + np.log(0.9)) / 2))
    assert out["same_top"] == 0.5  # position 0: a tie (argmax 0) against 1; position 1 agrees
    assert out["tokens"] == 2


# --- the real thing: a small Mistral through llama.cpp's converter and quantizer --------------------------

@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, quiz_tokenizer):
    """A 2-layer Mistral (hidden 256, FFN 512: rows K-quants accept), trained for a few steps so that its
    distributions are not flat, with the book's SentencePiece tokenizer."""
    from bielik.model.storage import save_model

    root = tmp_path_factory.mktemp("gguf")
    texts = (DATA / "poleval2021_quiz_qa" / "test-A" / "in.tsv").read_text().splitlines()
    tok, info = quiz_tokenizer
    model = tiny_mistral(info["padded_vocab_size"], intermediate=512, layers=2, context=128)
    ids = torch.tensor([tok(t)["input_ids"][:32] for t in texts[:64] if len(tok(t)["input_ids"]) >= 32][:16])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(30):
        loss = model(input_ids=ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return save_model(model, root / "model", tok), ids[:4].tolist()


@pytest.fixture(scope="module")
def f16(model_dir, tmp_path_factory):
    folder, _ = model_dir
    return gguf_files.convert(folder, tmp_path_factory.mktemp("f16") / "f16.gguf", "f16")


@pytest.mark.slow
def test_conversion_keeps_the_model(model_dir, f16):
    from bielik.model.storage import load_model

    folder, rows = model_dir
    info = gguf_files.check(f16)
    assert info["architecture"] == "llama" and set(info["types"]) <= {"F16", "F32"}
    hf = llama_cpp.transformers_log_probs(load_model(folder), rows)
    out = llama_cpp.compare(hf, llama_cpp.log_probs(f16, rows, 128), rows)
    assert out["kld"] < 1e-3 and out["same_top"] > 0.97


@pytest.mark.slow
def test_quantized_files_load_generate_and_lose_a_little(model_dir, f16, tmp_path):
    _, rows = model_dir
    q8 = gguf_files.quantize(f16, tmp_path / "q8.gguf", "Q8_0")
    q4 = gguf_files.quantize(f16, tmp_path / "q4.gguf", "Q4_K_M")
    assert "Q8_0" in gguf_files.check(q8)["types"] and "Q4_K" in gguf_files.check(q4)["types"]
    assert gguf_files.check(q4)["bytes"] < gguf_files.check(q8)["bytes"] < gguf_files.check(f16)["bytes"]
    a8, a4 = llama_cpp.compare_files(f16, q8, rows, 128), llama_cpp.compare_files(f16, q4, rows, 128)
    assert llama_cpp.compare_files(f16, f16, rows, 128)["kld"] == pytest.approx(0, abs=1e-9)
    assert 0 < a8["kld"] < a4["kld"] and a8["same_top"] >= a4["same_top"]
    out = llama_cpp.generate(q4, rows[0][:8], 6, 128)
    assert len(out["ids"]) == 6 and out["tokens_per_s"] > 0
    # greedy in llama.cpp is greedy in transformers: the same first tokens from the 16-bit file
    from bielik.model.storage import load_model
    hf = load_model(model_dir[0]).generate(torch.tensor([rows[0][:8]]), max_new_tokens=3, do_sample=False)
    assert llama_cpp.generate(f16, rows[0][:8], 3, 128)["ids"] == hf[0, 8:].tolist()


@pytest.mark.slow
def test_iq2_xxs_without_an_imatrix_is_refused_with_llama_cpps_reason(f16, tmp_path):
    """Chapter 08's exercise 2: the 2-bit i-quant needs an importance matrix; llama.cpp says so, in one error."""
    with pytest.raises(gguf_files.GGUFError, match="IQ2_XXS: this quantization requires an imatrix") as refused:
        gguf_files.quantize(f16, tmp_path / "iq2.gguf", "IQ2_XXS")
    assert "Traceback" not in str(refused.value) and not (tmp_path / "iq2.gguf").exists()


@pytest.mark.slow
def test_a_retrained_byte_level_bpe_converts_and_llama_cpp_splits_polish_as_transformers_does(tmp_path):
    """SmolLM2's kind of tokenizer (chapter 03 at small) retrained on Polish: llama.cpp's table of hashes does not
    know it, its structure names the pre-tokenizer, and llama.cpp then tokenizes Polish text to the same ids."""
    from bielik.model.storage import save_model

    lines = polish_lines(120)
    tok = smollm2_tokenizer(lines[:100], vocab_size=512)
    folder = save_model(smollm2_model(len(tok), hidden=48, layers=2), tmp_path / "model", tok)
    assert gguf_files.known_pre_tokenizer(folder) == "smollm"
    f16 = gguf_files.convert(folder, tmp_path / "f16.gguf", "f16")
    assert gguf_files.check(f16)["architecture"] == "llama"
    text = " ".join(lines[100:]) + " W 2024 roku: 1234,56 zł."
    code = ("import json, sys\nfrom llama_cpp import Llama\n"
            "llm = Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)\n"
            "print(json.dumps(llm.tokenize(sys.argv[2].encode(), add_bos=False, special=False)))")
    out = subprocess.run([sys.executable, "-c", code, str(f16), text], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == tok(text, add_special_tokens=False)["input_ids"]


@pytest.mark.slow
def test_importance_matrix_by_hand(model_dir):
    from bielik.model.storage import load_model

    folder, rows = model_dir
    model = load_model(folder)
    imatrix = gguf_files.importance_matrix(model, rows[:2])
    assert len(imatrix) == 2 * 7  # q, k, v, o, gate, up, down per layer
    with torch.no_grad():
        h = model.model.layers[0].input_layernorm(model.model.embed_tokens(torch.tensor(rows[:2])))
    expected = (h.reshape(-1, h.shape[-1]) ** 2).mean(0)
    for name in ("blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"):
        assert np.allclose(imatrix[name], expected.numpy(), rtol=1e-4)
    assert len(imatrix["blk.1.ffn_down.weight"]) == 512  # one value per input column


@pytest.mark.slow
def test_imatrix_variant_keeps_embeddings_and_output_at_f16(model_dir, f16, tmp_path):
    import gguf

    from bielik.model.storage import load_model

    folder, rows = model_dir
    imatrix = gguf_files.importance_matrix(load_model(folder), rows)
    q = gguf_files.quantize(f16, tmp_path / "q4i.gguf", "Q4_K_M", imatrix=imatrix)
    types = {t.name: t.tensor_type.name for t in gguf.GGUFReader(q).tensors}
    assert types["token_embd.weight"] == "F16" and types["output.weight"] == "F16"
    assert types["blk.0.attn_q.weight"] == "Q4_K"


@pytest.mark.slow
def test_a_truncated_file_is_refused_before_llama_cpp(f16, tmp_path):
    cut = tmp_path / "cut.gguf"
    data = f16.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(gguf_files.GGUFError, match="truncated"):
        gguf_files.check(cut)
    with pytest.raises(gguf_files.GGUFError, match="truncated"):
        gguf_files.quantize(cut, tmp_path / "q.gguf", "Q8_0")
    assert not (tmp_path / "q.gguf").exists()


@pytest.mark.slow
def test_the_harness_scores_a_gguf_file_like_its_model(model_dir, f16, tmp_path):
    import bielik
    from bielik.evaluation import harness

    folder, _ = model_dir
    ch = bielik.start("08", scale="ci", run_dir=str(tmp_path / "runs"))
    texts = {"heldout_texts": ["Ala ma kota, a kot ma Alę. Kot śpi na oknie."] * 3,
             "unigram_texts": ["Kot śpi, a dzieci bawiły się w ogrodzie."] * 10}
    hf = harness.evaluate(ch, folder, "f16-transformers", tasks=["dyk", "quiz_qa"], shots=(0,), limit=6, **texts)
    gg = harness.evaluate_gguf(ch, f16, folder, "f16", tasks=["dyk", "quiz_qa"], shots=(0,), limit=6, **texts)
    by = lambda r: {(x["task"], x["metric"]): x["score"] for x in r["rows"]}  # noqa: E731
    assert by(gg).keys() == by(hf).keys()
    for key, score in by(hf).items():  # 16-bit rounding may flip at most one near-tie of six documents
        assert abs(by(gg)[key] - score) <= 100 / 6 + 1e-6, key
    assert harness.recorded_average(ch.run, "08_quantization", "f16", 0) == pytest.approx(gg["average"]["0"], abs=0.01)
    # the yardsticks through llama.cpp: the same pairs and text, the same bits per byte up to 16-bit rounding
    hy, gy = hf["yardsticks"], gg["yardsticks"]
    assert gy["pairs_digest"] == hy["pairs_digest"] and gy["grammar"]["pairs"] == hy["grammar"]["pairs"]
    assert gy["bits"]["bits_per_byte"] == pytest.approx(hy["bits"]["bits_per_byte"], rel=0.01)
    assert abs(gy["grammar"]["accuracy"] - hy["grammar"]["accuracy"]) <= 100 * 2 / hy["grammar"]["pairs"]


@pytest.mark.slow
def test_gguf_log_likelihoods_match_transformers_in_a_padded_batch(model_dir, f16):
    # rows of different lengths in one batch: each row's logits must be its own (llama-cpp-python reuses one
    # buffer for every evaluation, so a row kept by reference would show the last row's logits)
    from llama_cpp import Llama
    from lm_eval.api.instance import Instance

    from bielik.evaluation import harness
    from bielik.model.storage import load_model, load_tokenizer

    folder, _ = model_dir
    tok = load_tokenizer(folder)
    calls = type("Calls", (llama_cpp.GGUFCalls,), {"llama": Llama(model_path=str(f16), n_ctx=128, n_batch=128,
                                                               n_threads=1, logits_all=True, verbose=False)})
    contexts = ["Kto napisał Pana Tadeusza?", "Jaka jest stolica Polski? Odpowiedz krótko, jednym słowem.", "Ile?"]
    reqs = [Instance("loglikelihood", {}, (c, a), i) for i, c in enumerate(contexts) for a in (" tak", " nie wiem")]
    hf = harness.lm_for(load_model(folder), tok).loglikelihood(reqs)
    gg = harness.lm_for(load_model(folder), tok, calls=calls).loglikelihood(reqs)
    assert [x for x, _ in gg] == pytest.approx([x for x, _ in hf], abs=0.05)  # 16-bit weights: hundredths
    assert len({round(x, 1) for x, _ in hf}) > 3  # different requests, different answers


@pytest.mark.slow
def test_gptq_w4a16_is_made_reloaded_and_close(model_dir, tmp_path):
    import json

    from bielik.deploy import gptq
    from bielik.model.storage import load_model

    folder, rows = model_dir
    made = gptq.quantize(folder, tmp_path / "gptq", rows)
    config = json.loads((tmp_path / "gptq" / "config.json").read_text())["quantization_config"]
    assert config["format"] == "pack-quantized" and made["seconds"] > 0
    assert gptq.size_mib(tmp_path / "gptq") < 0.6 * gptq.size_mib(folder)  # 4-bit blocks, 16-bit head
    ref = llama_cpp.transformers_log_probs(load_model(folder), rows)
    out = llama_cpp.compare(ref, llama_cpp.transformers_log_probs(gptq.load(tmp_path / "gptq"), rows), rows)
    assert 0 < out["kld"] < 0.1 and out["same_top"] > 0.8


def _llama(vocab, hidden, intermediate, heads=4, kv=2):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=intermediate,
                                        num_hidden_layers=2, num_attention_heads=heads, num_key_value_heads=kv,
                                        max_position_embeddings=64))


def test_gptq_groups_are_the_largest_that_divide_every_row():
    from bielik.deploy import gptq

    with torch.device("meta"):  # shapes only
        report, smollm2 = _llama(64, 4096, 14336, 32, 8), _llama(64, 960, 2560, 15, 5)
        stand_in, odd = _llama(64, 96, 192, 6, 2), _llama(64, 128, 200)
    assert [gptq.group_size(m) for m in (report, smollm2, stand_in)] == [128, 64, 32]
    assert gptq.off_the_group(smollm2, 64) == {}
    # 200 = 8 x 25: no group of 32 or more divides it, so 128 where it fits and the FFN's down projections at 16 bits
    assert gptq.group_size(odd) == 128
    assert gptq.off_the_group(odd, 128) == {f"model.layers.{i}.mlp.down_proj": 200 for i in range(2)}
    assert gptq.quantizable(odd) and gptq.quantizable(smollm2)
    with torch.device("meta"):
        nothing = _llama(64, 48, 96, 3, 1)  # rows of 48 and 96: no group of 32 or more divides 48 and 96 both
    assert gptq.group_size(nothing) == 128 and not gptq.quantizable(nothing)


@pytest.mark.slow
def test_gptq_in_groups_of_64_for_rows_128_does_not_divide(quiz_tokenizer, tmp_path):
    """SmolLM2's hidden 960 is 7.5 groups of 128, which llm-compressor's W4A16 preset refuses; groups of 64 (which
    vLLM's kernels also run) take every layer. Here rows of 192."""
    from bielik.deploy import gptq
    from bielik.model.storage import save_model

    tok, info = quiz_tokenizer
    folder = save_model(_llama(info["padded_vocab_size"], 128, 192), tmp_path / "model", tok)
    rows = [tok("Ala ma kota, a kot ma Alę. " * 4)["input_ids"][:32]] * 4
    made = gptq.quantize(folder, tmp_path / "gptq", rows)
    assert made["group_size"] == 64 and made["kept_16bit"] == {} and made["kept_share"] == 0
    config = json.loads((tmp_path / "gptq" / "config.json").read_text())["quantization_config"]
    assert config["config_groups"]["group_0"]["weights"]["group_size"] == 64
    assert gptq.load(tmp_path / "gptq")(torch.tensor([rows[0]])).logits.isfinite().all()


def test_llama_cpp_loads_without_weight_repacking_where_amx_would_repack():
    """llama.cpp's AMX kernels segfault on quantized files (ggml-org/llama.cpp#20824): where the machine has AMX, the
    files load with use_extra_bufts off; the default parameters are restored after."""
    import llama_cpp.llama_cpp as C

    from bielik.deploy import llama_cpp as L

    default = C.llama_model_default_params
    with L._without_extra_buffers(True):
        assert C.llama_model_default_params().use_extra_bufts is False
    assert C.llama_model_default_params is default and C.llama_model_default_params().use_extra_bufts is True
    with L._without_extra_buffers(False):
        assert C.llama_model_default_params is default
    assert isinstance(L.amx_repacks(), bool)
