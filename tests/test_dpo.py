"""DPO-P (bielik.posttrain.dpo): the loss against hand arithmetic, the trainer on a ~0.5M-parameter Mistral, the
log-prob scorer, checkpoints, and Smaug's failure case (DPO lowers the chosen answer; DPO-P does not)."""
import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from bielik.posttrain import dpo

from conftest import tiny_mistral

DATA = Path(__file__).resolve().parent.parent / "data"


def _user(text):
    return [{"role": "user", "content": text}]


def _assistant(text):
    return [{"role": "assistant", "content": text}]


# small edits between chosen and rejected (grammar fixes) are where DPO lowers the chosen answer (Smaug)
PAIRS = [
    {"id": "a", "source": "hand", "score_chosen": 9.0, "score_rejected": 2.0,
     "prompt": _user("Popraw zdanie: Ala ma kot."), "chosen": _assistant("Ala ma kota."),
     "rejected": _assistant("Ala ma kot.")},
    {"id": "b", "prompt": _user("Stolica Polski?"), "chosen": _assistant("Warszawa."),
     "rejected": _assistant("Kraków.")},
    {"id": "c", "prompt": _user("Ile to jest dwa plus dwa?"), "chosen": _assistant("Cztery."),
     "rejected": _assistant("Pięć.")},
    {"id": "d", "prompt": _user("Popraw: On poszedł do sklep."), "chosen": _assistant("On poszedł do sklepu."),
     "rejected": _assistant("On poszedł do sklep.")},
    {"id": "e", "prompt": _user("Kto napisał Pana Tadeusza?"), "chosen": _assistant("Adam Mickiewicz."),
     "rejected": _assistant("Juliusz Słowacki.")},
    {"id": "f", "prompt": _user("Popraw: Mam dwa kot."), "chosen": _assistant("Mam dwa koty."),
     "rejected": _assistant("Mam dwa kot.")},
]


@pytest.fixture(scope="module")
def tiny(quiz_tokenizer):
    """(tokenizer, model factory). One torch thread: on two shared cores, two threads made a step ~30x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tok, info = quiz_tokenizer
    yield tok, lambda seed=0: tiny_mistral(info["padded_vocab_size"], seed=seed)
    torch.set_num_threads(threads)


def _args(out, **kw):
    kw = {"lr": 1e-3, "warmup_steps": 0, "batch_size": len(PAIRS), "max_length": 256, **kw}
    return dpo.dpo_config(out, **kw)


@pytest.fixture(scope="module")
def run(tiny, tmp_path_factory):
    """Four DPO-P steps with an evaluation and checkpoints every two steps."""
    tok, new = tiny
    model = new()
    ref = dpo.sequence_logps(model, tok, PAIRS)
    out = tmp_path_factory.mktemp("run")
    trainer = dpo.train(model, None, tok, PAIRS, _args(out, max_steps=4, save_steps=2, eval_steps=2), lam=2.5,
                        placement="inside", eval_pairs=PAIRS[:2])
    return trainer, ref, out


# --- the loss ------------------------------------------------------------------------------------------

def test_dpop_loss_by_hand():
    # example 0: chosen -10, rejected -12, ref chosen -9, ref rejected -11, beta 0.05, lambda 2.5:
    #   r_w = -10 - (-9) = -1, r_l = -12 - (-11) = -1, margin r_w - r_l = 0, P = max(0, -9 - (-10)) = 1
    #   inside:  -log sigmoid(0.05 * (0 - 2.5 * 1)) = -log sigmoid(-0.125) = log(1 + e^0.125)
    #   outside: -log sigmoid(0.05 * 0 - 2.5 * 1)   = -log sigmoid(-2.5)   = log(1 + e^2.5)
    # example 1: chosen -8 (above its reference -9): r_w = 1, r_l = -1, margin 2, P = 0
    #   both:    -log sigmoid(0.05 * 2) = log(1 + e^-0.1)
    args = [torch.tensor(v) for v in ([-10.0, -8.0], [-12.0, -12.0], [-9.0, -9.0], [-11.0, -11.0])]
    inside, stats = dpo.dpop_loss(*args, beta=0.05, lam=2.5, placement="inside")
    outside, _ = dpo.dpop_loss(*args, beta=0.05, lam=2.5, placement="outside")
    assert inside.tolist() == pytest.approx([math.log1p(math.exp(0.125)), math.log1p(math.exp(-0.1))], abs=1e-6)
    assert outside.tolist() == pytest.approx([math.log1p(math.exp(2.5)), math.log1p(math.exp(-0.1))], abs=1e-6)
    assert stats["penalty"].tolist() == [1.0, 0.0]
    assert stats["chosen_rewards"].tolist() == pytest.approx([-0.05, 0.05])
    assert dpo.penalty_weight(0.05, 2.5, "inside") == pytest.approx(0.125)
    assert dpo.penalty_weight(0.05, 2.5, "outside") == 2.5
    with pytest.raises(ValueError, match="placement"):
        dpo.dpop_loss(*args, placement="middle")


def test_lambda_zero_is_dpo():
    g = torch.Generator().manual_seed(0)
    c, r, rc, rr = (-20 * torch.rand(8, generator=g) for _ in range(4))
    dpo_loss = -F.logsigmoid(0.05 * ((c - rc) - (r - rr)))  # trl's "sigmoid" loss, Eq. 3
    for placement in dpo.PLACEMENTS:
        loss, _ = dpo.dpop_loss(c, r, rc, rr, beta=0.05, lam=0.0, placement=placement)
        assert torch.equal(loss, dpo_loss)


def test_penalty_gradient_lifts_the_chosen():
    # with P > 0, d loss / d log pi(y_w) = -sigmoid(-z) * (beta + weight), weight = beta*lambda inside, lambda
    # outside; DPO's is -sigmoid(-z) * beta. At a tie (P = 0) the penalty adds nothing: DPO-P steps like DPO.
    def grad(chosen, lam, placement):
        c = torch.tensor([chosen], requires_grad=True)
        loss, stats = dpo.dpop_loss(c, torch.tensor([-12.0]), torch.tensor([-9.0]), torch.tensor([-11.0]),
                                    beta=0.05, lam=lam, placement=placement)
        loss.sum().backward()
        return c.grad.item(), stats["logits"].item()

    for placement in dpo.PLACEMENTS:
        g, z = grad(-10.0, 2.5, placement)
        assert g == pytest.approx(-torch.sigmoid(torch.tensor(-z)).item() * (0.05 + dpo.penalty_weight(0.05, 2.5,
                                                                                                       placement)))
        assert g < grad(-10.0, 0.0, placement)[0] < 0
        assert grad(-9.0, 2.5, placement)[0] == grad(-9.0, 0.0, placement)[0]


# --- the trainer ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_trainer_logs_every_step(run):
    trainer, _, out = run
    steps = [h for h in trainer.state.log_history if "loss" in h]
    assert [h["step"] for h in steps] == [1, 2, 3, 4]
    for h in steps:
        assert math.isfinite(h["loss"])
        for key in ("logps/chosen", "logps/rejected", "dpop/penalty", "dpop/penalty_active", "dpop/dpo_loss",
                    "rewards/margins", "rewards/accuracies"):
            assert key in h and math.isfinite(h[key]), key
    evals = [h for h in trainer.state.log_history if "eval_loss" in h]
    assert [h["step"] for h in evals] == [2, 4] and all("eval_dpop/penalty" in h for h in evals)
    # extra keys never reach trl
    assert set(trainer.train_dataset.column_names) >= set(dpo.PAIR_KEYS)
    assert not {"id", "source", "score_chosen"} & set(trainer.train_dataset.column_names)


@pytest.mark.slow
def test_reference_logps_are_trls(run):
    # trl precomputed the reference log-probs from the untrained model; sequence_logps scored it the same way
    trainer, (ref_c, ref_r), _ = run
    assert torch.tensor(trainer.train_dataset["ref_chosen_logps"]) == pytest.approx(ref_c, abs=1e-4)
    assert torch.tensor(trainer.train_dataset["ref_rejected_logps"]) == pytest.approx(ref_r, abs=1e-4)


@pytest.mark.slow
def test_loss_is_trls_sigmoid_at_lambda_zero(tiny, tmp_path):
    from trl import DPOTrainer

    tok, new = tiny
    model = new()
    cls = dpo.trainer_class()
    trainers = {lam: cls(model=model, args=_args(tmp_path / str(lam), max_steps=1), train_dataset=dpo.to_dataset(PAIRS),
                         processing_class=tok, dpop_lambda=lam) for lam in (0.0, 2.5)}
    with torch.no_grad():  # move the policy off the reference so that the losses are not all log 2
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    trainer = trainers[0.0]
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(PAIRS))])
    model.train()
    with torch.no_grad():
        trl_loss = DPOTrainer._compute_loss(trainer, model, batch, False)
        assert trainer.compute_loss(model, batch) == trl_loss
        # lambda 2.5: dpop_loss on the policy's own scores against trl's precomputed reference
        c, r = dpo.sequence_logps(model, tok, PAIRS)
        expected, stats = dpo.dpop_loss(c, r, batch["ref_chosen_logps"], batch["ref_rejected_logps"], lam=2.5)
        assert trainers[2.5].compute_loss(model, batch).item() == pytest.approx(expected.mean().item(), abs=1e-4)
    assert stats["penalty"].max() > 0  # the perturbation lowered some chosen answers: the penalty took part


@pytest.mark.slow
def test_rejects_what_it_would_ignore(tiny, tmp_path):
    tok, new = tiny
    with pytest.raises(ValueError, match="placement"):
        dpo.trainer_class()(model=new(), args=_args(tmp_path, max_steps=1), train_dataset=dpo.to_dataset(PAIRS),
                            processing_class=tok, placement="middle")
    args = _args(tmp_path, max_steps=1)
    args.precompute_ref_log_probs = False
    with pytest.raises(ValueError, match="precompute_ref_log_probs"):
        dpo.trainer_class()(model=new(), args=args, train_dataset=dpo.to_dataset(PAIRS), processing_class=tok)
    with pytest.raises(ValueError, match="user turn"):
        dpo.to_dataset([{**PAIRS[0], "prompt": _assistant("x")}])


@pytest.mark.slow
def test_first_step_is_dpos(tiny, tmp_path):
    # the policy starts as the reference, P = 0 with zero gradient (relu): DPO-P's first step is DPO's
    tok, new = tiny
    models = {}
    for lam in (0.0, 2.5):
        models[lam] = new()
        dpo.train(models[lam], None, tok, PAIRS, _args(tmp_path / str(lam), max_steps=1), lam=lam, placement="outside")
    for a, b in zip(models[0.0].parameters(), models[2.5].parameters()):
        assert torch.equal(a, b)


def _fit_both_responses(model, tok, steps=40, lr=3e-3):
    """A reference that already rates chosen and rejected highly, as an SFT model rates its own style."""
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    b = DataCollatorForPreference(pad_token_id=tok.pad_token_id)([dpo.encode_pair(tok, p) for p in PAIRS])
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    for _ in range(steps):
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        loss = -dpo.completion_sums(dpo.token_logps(logits, b["input_ids"]), b["completion_mask"]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@pytest.mark.slow
def test_dpop_keeps_the_chosen_answer_likely(tiny, tmp_path):
    # Smaug's case: near-identical responses, both likely under the reference. DPO buys its margin by lowering
    # both (the chosen too); DPO-P's penalty holds the chosen at the reference while the rejected falls.
    tok, new = tiny
    base = _fit_both_responses(new(), tok)
    ref = dpo.sequence_logps(base, tok, PAIRS)
    metrics = {}
    for lam in (0.0, 2.5):
        model = copy.deepcopy(base)
        dpo.train(model, None, tok, PAIRS, _args(tmp_path / str(lam), max_steps=15), lam=lam, placement="inside")
        metrics[lam] = dpo.preference_metrics(dpo.sequence_logps(model, tok, PAIRS), ref, beta=0.05)
    plain, dpop = metrics[0.0], metrics[2.5]
    assert plain["accuracy"] == dpop["accuracy"] == 1.0
    assert plain["chosen_logp_change"] < -5 and plain["chosen_fell"] > 0.5
    assert dpop["chosen_logp_change"] > -2 and dpop["chosen_fell"] < plain["chosen_fell"]
    assert dpop["rejected_logp_change"] < -5


# --- scoring and checkpoints ---------------------------------------------------------------------------

@pytest.mark.slow
def test_sequence_logps_by_hand(tiny):
    tok, new = tiny
    model = new(seed=3)
    pair = PAIRS[0]
    prompt = tok.apply_chat_template(pair["prompt"], tokenize=True, return_dict=True,
                                     add_generation_prompt=True)["input_ids"]
    full = tok.apply_chat_template(pair["prompt"] + pair["chosen"], tokenize=True, return_dict=True)["input_ids"]
    assert full[:len(prompt)] == prompt and tok.decode(full[len(prompt):]) == "Ala ma kota.<|im_end|>\n"
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([full])).logits[0].float(), dim=-1)
    by_hand = sum(logp[t - 1, full[t]].item() for t in range(len(prompt), len(full)))
    chosen, rejected = dpo.sequence_logps(model, tok, PAIRS, batch_size=4)  # padded batches of two lengths
    assert chosen.shape == rejected.shape == (len(PAIRS),)
    assert chosen[0].item() == pytest.approx(by_hand, abs=1e-4)


def test_preference_metrics():
    policy = (torch.tensor([-9.0, -12.0]), torch.tensor([-14.0, -10.0]))
    ref = (torch.tensor([-10.0, -11.0]), torch.tensor([-12.0, -12.0]))
    # r_w = [1, -1], r_l = [-2, 2] -> margins 0.1 * [3, -3]
    m = dpo.preference_metrics(policy, ref, beta=0.1)
    assert m["accuracy"] == 0.5 and m["reward_margin"] == pytest.approx(0.0)
    assert m["chosen_logp_change"] == 0.0 and m["rejected_logp_change"] == 0.0 and m["chosen_fell"] == 0.5
    # the reference against itself: every margin is a tie, which counts half
    assert dpo.preference_metrics(ref, ref, beta=0.1)["accuracy"] == 0.5


def test_metrics_by_source():
    policy = (torch.tensor([-9.0, -12.0, -5.0]), torch.tensor([-14.0, -10.0, -5.0]))
    ref = (torch.tensor([-10.0, -11.0, -5.0]), torch.tensor([-12.0, -12.0, -5.0]))
    pairs = [{"source": "gec"}, {"source": "quiz"}, {"source": "gec"}]
    m = dpo.metrics_by_source(policy, ref, pairs, beta=0.1)
    assert list(m) == ["gec", "quiz", "all"]
    assert m["gec"]["n"] == 2 and m["gec"]["accuracy"] == 0.75  # one right, one tie
    assert m["quiz"]["accuracy"] == 0.0 and m["quiz"]["chosen_logp_change"] == -1.0
    assert m["all"]["n"] == 3


def test_phase_steps():
    assert dpo.phase_steps(40, 3) == [13, 27, 40]
    assert dpo.phase_steps(4, 3) == [1, 3, 4]
    assert dpo.phase_steps(2, 3) == [1, 2]  # fewer steps than phases: every step
    assert dpo.phase_steps(40, 0) == []


@pytest.mark.slow
def test_run_variant_keeps_phases_and_resumes(tiny, tmp_path):
    from types import SimpleNamespace

    from bielik.model.storage import load_model, save_model
    from bielik.training.checkpoints import COMPLETE

    tok, new = tiny
    save_model(new(), tmp_path / "start", tok)
    P = SimpleNamespace(beta=0.05, lr=1e-3, warmup=0, epochs=1, batch_size=2, grad_accum=1, context=256,
                        save_every=0, bf16=False)
    out = tmp_path / "out"
    r = dpo.run_variant("dpo-p", tmp_path / "start", tok, PAIRS, PAIRS[:2], out, P, lam=2.5, phases=3, curve_points=3)
    assert r["steps"] == 3 and [p.name for p in r["phases"]] == ["step-1", "step-2", "step-3"]
    assert [h["step"] for h in r["heldout_curve"]] == [0, 1, 2, 3]
    assert r["heldout_curve"][0]["accuracy"] == 0.5 and r["heldout_curve"][0]["chosen_logp_change"] == 0.0
    final = dpo.sequence_logps(load_model(out / "dpo-p"), tok, PAIRS)[0]
    assert dpo.sequence_logps(load_model(r["phases"][-1]), tok, PAIRS)[0] == pytest.approx(final, abs=1e-5)
    assert not torch.allclose(dpo.sequence_logps(load_model(r["phases"][0]), tok, PAIRS)[0], final)
    assert r["tokens_per_s"] > 0 and len(r["train_log"]) == 3

    # killed after step 2: the step-3 checkpoint was never completed; the rerun resumes from step 2 and ends
    # where the uninterrupted run ended
    (out / "dpo-p-checkpoints" / "checkpoint-3" / COMPLETE).unlink()
    for folder in (out / "dpo-p", out / "dpo-p-phases" / "step-3"):
        import shutil
        shutil.rmtree(folder)
    again = dpo.run_variant("dpo-p", tmp_path / "start", tok, PAIRS, PAIRS[:2], out, P, lam=2.5, phases=3,
                            curve_points=3)
    assert again["steps"] == 3 and [h["step"] for h in again["heldout_curve"]] == [2, 3]
    assert dpo.sequence_logps(load_model(out / "dpo-p"), tok, PAIRS)[0] == pytest.approx(final, abs=1e-4)


@pytest.mark.slow
def test_checkpoints_reload(run):
    from transformers import AutoModelForCausalLM

    from bielik.training.checkpoints import COMPLETE

    trainer, _, out = run
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    folder = out / "checkpoint-4"
    assert (folder / COMPLETE).exists() and (folder / "model.safetensors").exists()
    reloaded = AutoModelForCausalLM.from_pretrained(folder)
    tok = trainer.processing_class
    assert dpo.sequence_logps(reloaded, tok, PAIRS)[0] == pytest.approx(
        dpo.sequence_logps(trainer.model, tok, PAIRS)[0], abs=1e-4)


def test_phase_checkpoints_come_in_step_order(tmp_path):
    for step in (10, 9, 100):
        dpo.phase_folder(tmp_path, "dpo-p", step).mkdir(parents=True)
    (tmp_path / "dpo-p-phases" / "step-x").mkdir()  # not a checkpoint
    assert [p.name for p in dpo.phase_checkpoints(tmp_path / "dpo-p-phases")] == ["step-9", "step-10", "step-100"]
    with pytest.raises(FileNotFoundError, match="no step-N checkpoints"):
        dpo.phase_checkpoints(tmp_path / "missing")
