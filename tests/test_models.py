import pytest
import torch

from bielik.model.storage import NotAModel, load_model, save_model


@pytest.fixture(scope="module")
def tiny_model():
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    cfg = MistralConfig(vocab_size=320, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                        sliding_window=None, tie_word_embeddings=False)
    return MistralForCausalLM(cfg).eval()


def test_save_and_load_as_safetensors(tmp_path, tiny_model):
    path = save_model(tiny_model, tmp_path / "m")
    files = sorted(p.name for p in path.iterdir())
    assert "model.safetensors" in files and not any(f.endswith(".bin") for f in files)
    loaded = load_model(path).eval()
    ids = torch.tensor([[1, 5, 9, 42]])
    with torch.no_grad():
        assert torch.equal(tiny_model(ids).logits, loaded(ids).logits)


def test_a_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(NotAModel, match="has no config.json"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(NotAModel, match=r"no \*.safetensors weights"):
        load_model(tmp_path)


def test_hub_ids_are_refused_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(NotAModel, match="the hub is off"):
        load_model("mistralai/Mistral-7B-v0.2")
