"""Merging (bielik.posttrain.merging) through mergekit: linear, TIES and Model Stock against the formulas by hand on
small Mistral models, the configs' checks, and the model card."""
import pytest
import torch
from transformers import AutoModelForCausalLM

from bielik.model.architecture import mistral_config, new_model
from bielik.model.storage import save_model
from bielik.posttrain import merging


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    """A base model and three fine-tunes of it: the base plus different random task vectors."""
    root = tmp_path_factory.mktemp("merge")
    config = mistral_config(vocab_size=320, hidden=256, intermediate=512, layers=2, heads=4, kv_heads=2, context=64)
    base = new_model(config, seed=0)
    save_model(base, root / "base")
    tuned = []
    for i in range(3):
        model = new_model(config, seed=0)
        gen = torch.Generator().manual_seed(100 + i)
        with torch.no_grad():
            for p in model.parameters():
                # a shared direction plus each model's own: task vectors that partly agree, as phases of one run do
                shared = torch.randn(p.shape, generator=torch.Generator().manual_seed(7)) * 0.01
                p.add_(shared + torch.randn(p.shape, generator=gen) * 0.01)
        save_model(model, root / f"m{i}")
        tuned.append(root / f"m{i}")
    return root, root / "base", tuned


def _state(path):
    return AutoModelForCausalLM.from_pretrained(path).state_dict()


def _merge(method, family, tmp_path, **kw):
    root, base, tuned = family
    out = tmp_path / method
    merging.run(merging.merge_config(method, tuned, base if method != "linear" else None, **kw), out)
    return _state(out), _state(base), [_state(m) for m in tuned]


@pytest.mark.slow
def test_linear_is_the_average(family, tmp_path):
    merged, _, parts = _merge("linear", family, tmp_path)
    for name, value in merged.items():
        assert torch.allclose(value, sum(p[name] for p in parts) / 3, atol=1e-7), name


@pytest.mark.slow
def test_linear_weights_are_normalised(family, tmp_path):
    merged, _, parts = _merge("linear", family, tmp_path, weights=[2.0, 1.0, 1.0])
    name = "model.layers.0.mlp.up_proj.weight"
    assert torch.allclose(merged[name], (2 * parts[0][name] + parts[1][name] + parts[2][name]) / 4, atol=1e-7)


def _ties_by_hand(base, parts, density):
    taus = []
    for p in parts:
        tau = (p - base).reshape(-1)
        k = max(1, int(density * tau.numel()))
        keep = torch.zeros_like(tau)
        keep[torch.argsort(tau.abs(), descending=True)[:k]] = 1
        taus.append((tau * keep).reshape(base.shape))
    taus = torch.stack(taus)
    elected = torch.where(taus.sum(0) >= 0, 1.0, -1.0)
    agree = (taus.sign() == elected).float()
    count = agree.sum(0)
    return base + (taus * agree).sum(0) / torch.where(count == 0, torch.ones_like(count), count)


@pytest.mark.slow
def test_ties_by_hand(family, tmp_path):
    merged, base, parts = _merge("ties", family, tmp_path, density=0.5)
    for name in ("model.layers.1.self_attn.q_proj.weight", "model.norm.weight"):
        expected = _ties_by_hand(base[name], [p[name] for p in parts], 0.5)
        assert torch.allclose(merged[name], expected, atol=1e-6), name
    # trimming keeps half of each task vector: the merge moved fewer entries than the average did
    name = "model.layers.0.mlp.down_proj.weight"
    assert (merged[name] != base[name]).float().mean() < 0.9


def _model_stock_by_hand(base, parts):
    offsets = [(p - base).reshape(-1) for p in parts]
    cos = torch.stack([torch.nn.functional.cosine_similarity(a, b, dim=0)
                       for i, a in enumerate(offsets) for b in offsets[i + 1:]]).mean()
    t = len(parts) * cos / (1 + (len(parts) - 1) * cos)
    return t * sum(parts) / len(parts) + (1 - t) * base, t


@pytest.mark.slow
def test_model_stock_by_hand(family, tmp_path):
    merged, base, parts = _merge("model_stock", family, tmp_path)
    name = "model.layers.0.self_attn.o_proj.weight"
    expected, t = _model_stock_by_hand(base[name], [p[name] for p in parts])
    assert 0 < t < 1  # task vectors that partly agree: between the base and the average
    assert torch.allclose(merged[name], expected, atol=1e-6)


@pytest.mark.slow
def test_config_errors_and_yaml(family):
    root, base, tuned = family
    with pytest.raises(ValueError, match="one of linear, ties, model_stock"):
        merging.merge_config("slerp", tuned)
    with pytest.raises(ValueError, match="at least two models"):
        merging.merge_config("linear", tuned[:1])
    with pytest.raises(ValueError, match="base_model|base="):
        merging.merge_config("ties", tuned)
    with pytest.raises(ValueError, match="2 weights for 3 models"):
        merging.merge_config("linear", tuned, weights=[1.0, 1.0])
    text = merging.config_yaml(merging.merge_config("ties", tuned, base), relative_to=root)
    assert "merge_method: ties" in text and "base_model: base" in text and "model: m0" in text
    assert str(root) not in text  # no machine paths on the published page


@pytest.mark.slow
def test_a_missing_model_fails_with_mergekits_message(family, tmp_path):
    root, base, tuned = family
    with pytest.raises(RuntimeError, match="mergekit linear merge failed"):
        merging.run(merging.merge_config("linear", [tuned[0], root / "nowhere"]), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_model_card_round_trips_through_huggingface_hub(tmp_path):
    from huggingface_hub import ModelCard

    from bielik.posttrain import model_card

    c = model_card.card(model_name="bielik-book-merged", parts=["step-13", "step-27", "step-40"], method="linear",
                        merge_yaml="merge_method: linear\n", scores={"polemo2_out": 12.5, "cbd": -3.0}, average=4.75,
                        scale="tiny", parameters=14_000_000, description="A test.", limitations=["Tiny."],
                        version="0.1")
    model_card.write(tmp_path, c)
    loaded = ModelCard.load(tmp_path / "README.md")
    assert loaded.data.base_model == ["step-13", "step-27", "step-40"]
    assert loaded.data.language == ["pl"] and {"merge", "mergekit"} <= set(loaded.data.tags)
    assert [r.metric_value for r in loaded.data.eval_results] == [12.5, -3.0]
    assert "merge_method: linear" in loaded.text and "| **average** | **4.8** |" in loaded.text


@pytest.mark.slow
def test_task_vector_cosines(family):
    root, base, tuned = family
    cos = merging.task_vector_cosines(base, tuned)
    assert [round(cos[i][i], 6) for i in range(3)] == [1.0, 1.0, 1.0]
    # a shared direction of the same size as each model's own: cosine near 1/2
    assert all(0.4 < cos[i][j] < 0.6 for i in range(3) for j in range(3) if i != j)
    assert cos[0][1] == pytest.approx(cos[1][0])


@pytest.mark.slow
def test_ties_density_sets_how_far_it_moves_from_the_linear_merge(family, tmp_path):
    """Chapter 07's exercise 2: at density 0.9 TIES is near the linear merge; at 0.2 about half the entries, those no
    model keeps, go back to the base (a little more than 0.8^3 = 51%: task vectors that share a direction keep
    the same large entries)."""
    linear, base, _ = _merge("linear", family, tmp_path / "linear")
    name = "model.layers.0.mlp.up_proj.weight"
    far, back = {}, {}
    for density in (0.2, 0.9):
        ties, _, _ = _merge("ties", family, tmp_path / str(density), density=density)
        far[density] = (torch.norm(ties[name] - linear[name]) / torch.norm(linear[name] - base[name])).item()
        back[density] = (ties[name] == base[name]).float().mean().item()
    assert far[0.9] < far[0.2] and back[0.9] < 0.01 < back[0.2]
    assert 0.8 ** 3 - 0.02 < back[0.2] < 0.65  # no model of three keeps the entry
