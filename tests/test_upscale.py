import pytest

from bielik.model.upscaling import layer_map, mistral_parameter_count
from bielik.report import paper


def test_bielik_layer_map():
    rows = layer_map(32, 7)
    assert len(rows) == 50
    # new layer k copies source k below the seam (k < 25), then source k - 18
    assert all(src == (k if k < 25 else k - 18) for k, _, src in rows)
    assert [copy for _, copy, _ in rows] == ["bottom"] * 25 + ["top"] * 25
    assert rows[24] == (24, "bottom", 24) and rows[25] == (25, "top", 7)


def test_solar_layer_map_gives_48():
    assert len(layer_map(32, 8)) == 48


def test_bad_m_is_refused():
    with pytest.raises(ValueError, match="0 < m < n"):
        layer_map(4, 4)


def test_parameter_counts_match_hand_computation():
    # per layer: attention 4096*(2*4096 + 2*1024) = 41,943,040; MLP 3*4096*14336 = 176,160,768; norms 8,192
    per_layer = 41_943_040 + 176_160_768 + 8_192
    assert per_layer == 218_112_000
    assert mistral_parameter_count(paper.MISTRAL_7B_V02) == per_layer * 32 + 2 * 32000 * 4096 + 4096 == 7_241_732_096
    assert mistral_parameter_count(paper.MISTRAL_7B_V02, num_layers=50, vocab_size=32128) == 11_168_796_672


@pytest.mark.slow
def test_count_agrees_with_a_real_transformers_model():
    from transformers import MistralConfig, MistralForCausalLM

    cfg = dict(vocab_size=320, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
               num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    model = MistralForCausalLM(MistralConfig(**cfg, max_position_embeddings=64))
    assert mistral_parameter_count(cfg) == sum(p.numel() for p in model.parameters())
    tied = MistralForCausalLM(MistralConfig(**{**cfg, "tie_word_embeddings": True}, max_position_embeddings=64))
    assert mistral_parameter_count({**cfg, "tie_word_embeddings": True}) == sum(p.numel() for p in tied.parameters())


@pytest.mark.slow
def test_passthrough_upscaling_copies_exactly_the_right_layers(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from bielik.model.architecture import mistral_config, new_model
    from bielik.model.storage import save_model
    from bielik.model.upscaling import passthrough_config
    from bielik.posttrain.merging import run as run_passthrough

    base = new_model(mistral_config(vocab_size=384, hidden=256, intermediate=512, layers=9, heads=4, kv_heads=2,
                                    context=64), seed=0)
    save_model(base, tmp_path / "base")
    measured = run_passthrough(passthrough_config(tmp_path / "base", 9, 2), tmp_path / "up")
    assert measured["seconds"] >= 0 and measured["peak_rss_mb"] > 0
    up = AutoModelForCausalLM.from_pretrained(tmp_path / "up")
    assert up.config.num_hidden_layers == 14
    b, u = base.state_dict(), up.state_dict()
    for new, _, src in layer_map(9, 2):
        for name in [k.split(f"model.layers.{src}.")[1] for k in b if k.startswith(f"model.layers.{src}.")]:
            assert torch.equal(u[f"model.layers.{new}.{name}"], b[f"model.layers.{src}.{name}"]), (new, src, name)
    for name in ("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"):
        assert torch.equal(u[name], b[name])
    assert len([k for k in u if k.startswith("model.layers.")]) == 14 * len(
        [k for k in b if k.startswith("model.layers.0.")])
