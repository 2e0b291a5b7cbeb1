import pytest

from bielik import paper
from bielik.upscale import layer_map, mistral_parameter_count


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


def test_count_agrees_with_a_real_transformers_model():
    from transformers import MistralConfig, MistralForCausalLM

    cfg = dict(vocab_size=320, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
               num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    model = MistralForCausalLM(MistralConfig(**cfg, max_position_embeddings=64))
    assert mistral_parameter_count(cfg) == sum(p.numel() for p in model.parameters())
    tied = MistralForCausalLM(MistralConfig(**{**cfg, "tie_word_embeddings": True}, max_position_embeddings=64))
    assert mistral_parameter_count({**cfg, "tie_word_embeddings": True}) == sum(p.numel() for p in tied.parameters())
