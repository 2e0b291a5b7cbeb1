import math

import pytest
import torch

from bielik.training.curves import mean_loss
from bielik.training.packing import PackedCollator, block_causal_mask, pack


def tiny_model(vocab=300):
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    cfg = MistralConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, sliding_window=None)
    return MistralForCausalLM(cfg).eval()


def test_pack_lays_documents_end_to_end_and_restarts_positions():
    rows = pack([[1, 5, 6, 2], [1, 7, 2], [1, 8, 9, 10, 11, 2]], seq_len=5)
    assert [r["input_ids"] for r in rows] == [[1, 5, 6, 2, 1], [7, 2, 1, 8, 9]]  # the tail [10, 11, 2] is dropped
    assert rows[0]["position_ids"] == [0, 1, 2, 3, 0] and rows[0]["segments"] == [0, 0, 0, 0, 1]
    assert rows[1]["position_ids"] == [0, 1, 0, 1, 2] and rows[1]["segments"] == [0, 0, 1, 1, 1]


def test_mask_is_block_diagonal_and_causal():
    m = block_causal_mask(torch.tensor([[0, 0, 1, 1]]))[0, 0] == 0
    assert m.tolist() == [[True, False, False, False], [True, True, False, False],
                          [False, False, True, False], [False, False, True, True]]


def test_labels_skip_each_documents_first_token():
    batch = PackedCollator()(pack([[1, 5, 6, 2], [1, 7, 2]], seq_len=7))
    assert batch["labels"].tolist() == [[-100, 5, 6, 2, -100, 7, 2]]
    assert batch["attention_mask"].shape == (1, 1, 7, 7)


def test_a_packed_forward_pass_equals_separate_ones():
    model = tiny_model()
    a, b = [1, 17, 40, 99, 2], [1, 250, 3, 8, 77, 12, 2]
    batch = PackedCollator()(pack([a, b], seq_len=len(a) + len(b)))
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                       attention_mask=batch["attention_mask"]).logits[0]
        alone_a = model(input_ids=torch.tensor([a])).logits[0]
        alone_b = model(input_ids=torch.tensor([b])).logits[0]
    assert torch.allclose(packed[: len(a)], alone_a, atol=1e-5)
    assert torch.allclose(packed[len(a):], alone_b, atol=1e-5)
    # without the mask the second document would see the first
    with torch.no_grad():
        leaky = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
    assert not torch.allclose(leaky[len(a):], alone_b, atol=1e-3)


def test_mean_loss_matches_a_hand_computation():
    model = tiny_model()
    doc = [1, 17, 40, 99, 2]
    rows = pack([doc], seq_len=5)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([doc])).logits[0]
    expected = torch.nn.functional.cross_entropy(logits[:-1], torch.tensor(doc[1:])).item()
    assert abs(mean_loss(model, rows) - expected) < 1e-5


def _rows(n_rows=24, seq_len=16, vocab=300, seed=0):
    import random

    rng = random.Random(seed)
    docs = [[1] + [rng.randrange(3, vocab) for _ in range(rng.randint(5, 30))] + [2] for _ in range(200)]
    return pack(docs, seq_len)[:n_rows]


def _run(out, max_steps, resume=None, stop_at=None):
    from transformers import TrainerCallback

    from bielik.pretrain.trainer import train
    from bielik.training.arguments import training_arguments

    class Kill(TrainerCallback):  # a process killed at step `stop_at`, after its last save
        def on_step_end(self, args, state, control, **kw):
            if stop_at and state.global_step == stop_at:
                raise KeyboardInterrupt

    model = tiny_model()
    args = training_arguments(out, max_steps=max_steps, lr=3e-3, min_lr_ratio=0.1, warmup_steps=2, batch_size=4,
                              seed=0, logging_steps=1, save_steps=4)
    try:
        trainer = train(model, _rows(), args, resume=resume, callbacks=[Kill()])
    except KeyboardInterrupt:
        return None
    return trainer, model


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_complete_checkpoint(tmp_path):
    from bielik.training.checkpoints import last_complete_checkpoint
    from bielik.training.curves import mean_loss

    _, straight = _run(tmp_path / "straight", 12)
    assert _run(tmp_path / "killed", 12, stop_at=6) is None
    # a save that was killed half-way: a folder without the COMPLETE marker
    broken = tmp_path / "killed" / "checkpoint-8"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"truncated")
    last = last_complete_checkpoint(tmp_path / "killed")
    assert last.endswith("checkpoint-4") and not broken.exists()
    _, resumed = _run(tmp_path / "killed", 12, resume=last)
    held = _rows(8, seed=1)
    # tolerance: the same arithmetic in the same order on one CPU; 1e-4 nats leaves room for thread scheduling
    assert abs(mean_loss(straight, held) - mean_loss(resumed, held)) < 1e-4
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.allclose(a, b, atol=1e-5)


def test_the_cluster_launch_gives_the_reports_global_batch():
    from accelerate.commands.config.config_args import ClusterConfig

    from bielik.book.scales import preset

    from conftest import ROOT

    cfg = ClusterConfig.from_yaml_file(str(ROOT / "bielik" / "launch" / "accelerate_fsdp.yaml"))
    full = preset("04_pretraining", "full")
    assert cfg.num_processes * full["batch_size"] * full["grad_accum"] == 128  # the report's global batch
    assert full["context"] == 32768 and full["steps"] == 97250 and full["lr"] == 2e-5
    assert full["lr"] * full["min_lr_ratio"] == pytest.approx(9e-6)
    slurm = (ROOT / "bielik" / "launch" / "pretrain.slurm").read_text()
    assert f"--nodes={cfg.num_machines}" in slurm and "-m bielik pretrain --scale full" in slurm


class _Args:
    """What run_parameters reads of a TrainingArguments."""

    def __init__(self, **kw):
        self.kw = {"output_dir": "/somewhere", "logging_steps": 10, "save_steps": 50, **kw}

    def to_dict(self):
        return dict(self.kw)


def test_a_run_with_other_parameters_does_not_resume_from_old_checkpoints(tmp_path, capsys):
    from bielik.training.checkpoints import COMPLETE, resume_point, run_parameters

    def checkpoint(step):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / COMPLETE).write_text(str(step))

    first = run_parameters(_Args(learning_rate=1e-3, max_steps=20), data="abc")
    assert resume_point(tmp_path, first) is None  # nothing yet; the parameters are recorded
    checkpoint(10)
    # where and how often it writes is not part of the run: still the same run
    same = run_parameters(_Args(learning_rate=1e-3, max_steps=20, output_dir="/elsewhere", save_steps=5), data="abc")
    assert same == first and resume_point(tmp_path, same) == str(tmp_path / "checkpoint-10")
    changed = run_parameters(_Args(learning_rate=3e-4, max_steps=20), data="abc")
    assert resume_point(tmp_path, changed) is None
    said = capsys.readouterr().out
    assert "1 checkpoint(s) of another run (changed learning_rate 0.001 -> 0.0003); starting afresh" in said
    assert not (tmp_path / "checkpoint-10").exists()
    checkpoint(10)  # the new run's own checkpoint is resumed from
    assert resume_point(tmp_path, changed) == str(tmp_path / "checkpoint-10")
    assert resume_point(tmp_path, run_parameters(_Args(learning_rate=3e-4, max_steps=20), data="other")) is None
    assert "changed data abc -> other" in capsys.readouterr().out


def test_checkpoints_without_a_record_are_not_trusted(tmp_path, capsys):
    from bielik.training.checkpoints import COMPLETE, resume_point

    (tmp_path / "checkpoint-4").mkdir()
    (tmp_path / "checkpoint-4" / COMPLETE).write_text("4")
    assert resume_point(tmp_path, {"learning_rate": "0.001"}) is None
    assert "no record of the parameters" in capsys.readouterr().out


def test_a_run_says_how_long_its_saves_and_heldout_measurements_took(tmp_path):
    from bielik.pretrain.trainer import train
    from bielik.training.arguments import training_arguments
    from bielik.training.curves import heldout_callback

    args = training_arguments(tmp_path, max_steps=4, lr=3e-3, min_lr_ratio=0.1, warmup_steps=1, batch_size=4,
                              save_steps=2)
    watch = heldout_callback({"held": _rows(4, seed=1)}, every=2, tokens_per_step=64)
    trainer = train(tiny_model(), _rows(), args, callbacks=[watch])
    assert [p["step"] for p in watch.curve] == [0, 1, 2, 4] and watch.seconds > 0  # step 1: the early doubling
    assert trainer.save_seconds > 0 and type(trainer).save_seconds == 0.0  # per trainer, not shared by the class


def test_early_measurements_double_until_the_regular_ones_take_over():
    from types import SimpleNamespace

    from bielik.training.curves import measure_every

    class Model:
        training = True

        def train(self, mode):
            self.training = mode

    for early, expected in ((True, [0, 1, 2, 4, 8, 16, 24, 25]), (False, [0, 8, 16, 24, 25])):
        cb = measure_every(lambda state, model: {}, every=8, early=early)
        cb.on_train_begin(None, SimpleNamespace(global_step=0, max_steps=25), None, model=Model())
        for step in range(1, 26):
            cb.on_step_end(None, SimpleNamespace(global_step=step, max_steps=25), None, model=Model())
        assert [p["step"] for p in cb.curve] == expected


def test_unigram_loss_by_hand():
    from bielik.training.curves import unigram_loss

    # training counts over a vocabulary of 4, add-one: token 3: 3 + 1, token 2: 1 + 1, tokens 0 and 1: 1 -> of 8
    train = [{"input_ids": [3, 3, 3, 2], "position_ids": [0, 1, 2, 3], "segments": [0, 0, 0, 0]}]
    # one held-out row of two documents: targets are every token but each document's first (3 | 3, 2)
    held = [{"input_ids": [3, 3, 2], "position_ids": [0, 0, 1], "segments": [0, 1, 1]}]
    # the first document's only token and the second's first token are not targets: only token 2 is
    assert abs(unigram_loss(train, held, 4) - (-math.log(2 / 8))) < 1e-9


def test_equal_compute_steps_add_the_base_pretraining_in_the_trained_models_flops():
    from bielik.training.throughput import equal_compute_steps, flops_per_token

    # 10 steps of 100 tokens, plus a base that saw 1,000 tokens at half the FLOPs per token: 500 tokens' worth more
    assert equal_compute_steps(10, 100, 1000, base_flops=3.0, flops=6.0) == 15
    assert equal_compute_steps(10, 100, 1001, base_flops=3.0, flops=6.0) == 16  # a part step rounds up
    assert flops_per_token(1000, 2, 8, 16) == 6 * 1000 + 12 * 2 * 8 * 16


def test_a_tied_output_projection_counts_in_the_flops_and_gpu_days_follow_from_them():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from bielik.training.throughput import flops_per_token, gpu_days, model_flops_per_token

    cfg = dict(vocab_size=50, hidden_size=8, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2,
               num_key_value_heads=1)
    torch.manual_seed(0)
    tied = LlamaForCausalLM(LlamaConfig(**cfg, tie_word_embeddings=True))
    untied = LlamaForCausalLM(LlamaConfig(**cfg, tie_word_embeddings=False))
    # both project onto the 50 x 8 vocabulary once per token; only the untied one has a second matrix to look up
    assert model_flops_per_token(tied, 4) == model_flops_per_token(untied, 4)
    per_layer = 2 * 8 * 8 + 2 * 8 * 4 + 3 * 8 * 16 + 2 * 8  # q, o; k, v (one KV head of 4); SwiGLU; two norms
    assert model_flops_per_token(tied, 4) == flops_per_token(2 * per_layer + 8 + 50 * 8, 2, 8, 4)
    # 1e12 FLOP/s at 50% for 1e6 FLOPs a token: 5e5 tokens/s, 4.32e10 a day; 8.64e10 tokens take two GPU-days
    cost = gpu_days(1e6, 8.64e10, peak=1e12, mfu=0.5)
    assert cost == {"tokens/s": 5e5, "tokens/day": 4.32e10, "GPU-days": 2.0}


def test_the_scratch_control_gets_the_budget_it_asks_for():
    from types import SimpleNamespace

    from bielik.pretrain.continued import scratch_budget
    from bielik.training.throughput import model_flops_per_token

    model, base = tiny_model(), tiny_model()
    base.model.layers = base.model.layers[:1]  # a shallower base, as before stacking
    base.config.num_hidden_layers = 1
    p = SimpleNamespace(steps=10, batch_size=2, grad_accum=1, context=8, scratch_budget="tokens")
    c, c_base = model_flops_per_token(model, 8), model_flops_per_token(base, 8)
    assert c_base < c
    steps, share = scratch_budget(p, model, base, base_tokens=400)
    assert steps == 10 and share == pytest.approx(10 * 16 * c / (400 * c_base + 10 * 16 * c))
    p.scratch_budget = "compute"
    steps, share = scratch_budget(p, model, base, base_tokens=400)
    assert steps == 10 + math.ceil(400 * c_base / (c * 16)) and 1 <= share < 1 + 16 * c / (400 * c_base + 160 * c)
    assert scratch_budget(SimpleNamespace(**{**vars(p), "scratch_budget": "tokens"}), model, None, None) == (10, None)
    with pytest.raises(ValueError, match="from the hub use -p scratch_budget tokens"):
        scratch_budget(p, model, None, None)
    with pytest.raises(ValueError, match="scratch_budget must be tokens or compute"):
        scratch_budget(SimpleNamespace(**{**vars(p), "scratch_budget": "flops"}), model, base, 400)
