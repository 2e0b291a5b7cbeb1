"""Chapter 05's SFT: ChatML masking token by token, packing, WICEL and ALR against hand computations, the trainer."""
import math

import pytest
import torch

from bielik.posttrain import sft


@pytest.fixture(scope="module")
def tok(quiz_tokenizer):
    return quiz_tokenizer[0]


DIALOGUE = [{"role": "system", "content": "Jesteś asystentem."},
            {"role": "user", "content": "Stolica Polski?"},
            {"role": "assistant", "content": "Warszawa"},
            {"role": "user", "content": "A Czech?"},
            {"role": "assistant", "content": "Praga"}]


def test_the_mask_trains_answers_and_im_end_only(tok):
    enc = sft.encode(tok, DIALOGUE, weight=0.7)
    pieces = tok.convert_ids_to_tokens(enc["input_ids"])
    masked = "".join(p for p, lab in zip(pieces, enc["labels"]) if lab == -100)
    runs, run = [], []  # the contiguous stretches of trained tokens
    for i, lab in zip(enc["input_ids"], enc["labels"]):
        if lab != -100:
            assert lab == i
            run.append(i)
        elif run:
            runs.append(run)
            run = []
    runs += [run] if run else []
    # token by token: what is trained is exactly each answer followed by <|im_end|> and its newline
    assert [tok.decode(r) for r in runs] == ["Warszawa<|im_end|>\n", "Praga<|im_end|>\n"]
    assert "system" in masked and "user" in masked and masked.count("assistant") == 2  # headers masked
    assert masked.count("<|im_end|>") == 3  # system and user turns end masked
    assert enc["labels"][:1] == [-100]  # <s>
    assert {w for w, lab in zip(enc["weights"], enc["labels"]) if lab != -100} == {0.7}
    assert {w for w, lab in zip(enc["weights"], enc["labels"]) if lab == -100} == {0.0}


def test_packing_keeps_examples_whole_and_apart(tok):
    encs = [sft.encode(tok, [{"role": "user", "content": "Pytanie " * k}, {"role": "assistant", "content": "Tak"}])
            for k in (1, 5, 8, 3, 2)]
    lengths = sorted(len(e["input_ids"]) for e in encs)
    rows = sft.pack(encs, 96, tok.pad_token_id)
    assert all(len(r["input_ids"]) == 96 == len(r["weights"]) == len(r["segments"]) for r in rows)
    got = []
    for r in rows:
        for seg in sorted(set(r["segments"])):
            ids = [i for i, g in zip(r["input_ids"], r["segments"]) if g == seg]
            if set(ids) != {tok.pad_token_id}:  # the padding segment at the end of a row
                got.append(len(ids))
    got.sort()
    assert got == lengths  # every example lands whole in one row
    for r in rows:  # positions restart with each example
        starts = [i for i in range(96) if i == 0 or r["segments"][i] != r["segments"][i - 1]]
        assert all(r["position_ids"][i] == 0 for i in starts)
    with pytest.raises(ValueError, match="does not fit"):
        sft.pack(encs, 8, tok.pad_token_id)


def _toy(weighting):
    # one batch, 2 rows of 4 tokens, vocabulary 3: uniform logits make every CE = log 3
    logits = torch.zeros(2, 4, 3)
    logits[0, 0, 1] = math.log(2)  # row 0 predicts token 1 at position 1 with p = 2/4
    labels = torch.tensor([[-100, 1, 2, -100], [-100, -100, 0, 1]])
    weights = torch.tensor([[0, 1.0, 1.0, 0], [0, 0, 0.5, 0.5]])
    return sft.wicel_loss(logits, labels, weights, weighting)


def test_wicel_against_a_hand_computation():
    ce1, ce = -math.log(0.5), math.log(3)
    # loss tokens: row 0 -> (1, w 1, CE ln2), (2, w 1, ln3); row 1 -> (0, w .5, ln3), (1, w .5, ln3)
    assert _toy("none").item() == pytest.approx((ce1 + 3 * ce) / 4)
    assert _toy("tokens").item() == pytest.approx((ce1 + ce + 0.5 * ce + 0.5 * ce) / 4)  # ALLaMo: / loss tokens
    assert _toy("weights").item() == pytest.approx((ce1 + ce + 0.5 * ce + 0.5 * ce) / 3)  # OpenChat: / sum of w
    with pytest.raises(ValueError, match="weighting must be one of"):
        _toy("mean")


def test_alr_by_hand():
    assert sft.alr_scale(1024, 4096) == pytest.approx(0.5)
    assert sft.alr_scale(4096, 4096) == 1.0
    # the report's SFT: BS = 8,192 x 128 = 1,048,576; a step with 262,144 answer tokens runs at half the LR
    assert sft.alr_scale(262_144, 8192 * 128) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        sft.alr_scale(1, 0)


@pytest.mark.slow
def test_the_trainer_applies_wicel_and_alr_each_step(tok, tmp_path):
    from bielik.model.architecture import mistral_config, new_model

    convs = [[{"role": "user", "content": f"Ile to {i} plus {i}?"}, {"role": "assistant", "content": str(2 * i)}]
             for i in range(40)]
    examples = [{"messages": c, "weight": 1.0 if i % 2 else 0.5, "source": "t", "tier": "x"}
                for i, c in enumerate(convs)]
    encs, dropped = sft.encode_all(tok, examples, 64)
    assert not dropped
    rows = sft.pack(encs, 64, tok.pad_token_id)
    model = new_model(mistral_config(len(tok) + (-len(tok)) % 128, 256, 256, 1, 4, 2, 64))
    args = sft.sft_config(tmp_path, lr=1e-3, min_lr_ratio=0.1, warmup_steps=1, epochs=3, batch_size=2, grad_accum=2)
    cb = sft.heldout_callback(rows[:2], every=2)
    trainer = sft.train(model, tok, rows, args, weighting="tokens", alr=True, callbacks=[cb])
    log = trainer.step_log
    assert len(log) == trainer.state.global_step > 2
    for step in log:
        assert step["capacity"] == 2 * 2 * 64  # rows x accumulation x context
        assert step["alr_scale"] == pytest.approx(math.sqrt(step["loss_tokens"] / step["capacity"]))
        assert step["lr"] == pytest.approx(step["lr_scheduled"] * step["alr_scale"])
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]
    assert cb.curve[0]["step"] == 0 and cb.curve[-1]["heldout_loss"] < cb.curve[0]["heldout_loss"]
