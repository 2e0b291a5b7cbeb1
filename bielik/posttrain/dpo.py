"""DPO-Positive (DPO-P, Smaug) on trl's DPOTrainer (chapter 06).

- Loss: with r_w = log pi(y_w|x) - log pi_ref(y_w|x), r_l likewise, and the penalty
  P = max(0, log pi_ref(y_w|x) - log pi(y_w|x)), which is positive only once the chosen answer has become less
  likely than under the reference, DPO-P minimises -log sigmoid(z) with
      inside  (the report's Eq. 4, Smaug):           z = beta * (r_w - r_l - lambda * P)
      outside (the authors' current ALLaMo code):    z = beta * (r_w - r_l) - lambda * P
  The placement matters: at the report's beta 0.05 and lambda 2.5 the penalty's weight is beta * lambda = 0.125
  inside but 2.5 outside, twenty times stronger, against 0.05 for the margin either way. lambda = 0 is plain DPO
  (trl's "sigmoid" loss) exactly. Log-probabilities are summed over the response tokens.
- Trainer: `DPOPTrainer` keeps all of trl's DPOTrainer (tokenisation through the chat template, the fused
  log-prob forward, rewards/margins/accuracies and logps/chosen, logps/rejected logging) and only swaps the loss;
  it also logs the mean penalty (`dpop/penalty`), the share of pairs it fires on (`dpop/penalty_active`) and trl's
  plain DPO loss at the same weights (`dpop/dpo_loss`).
- Reference: log-probs precomputed once before training (trl's `precompute_ref_log_probs`), as the report does
  offline, so the reference model need not stay in memory.
- Evaluation: `sequence_logps` scores pairs the way trl does; `preference_metrics` turns policy and reference
  scores into held-out preference accuracy and the change of the chosen and rejected log-probs.

`inputs(ch, tok)` builds the chapter's pairs and `run_variant` trains; on a cluster the same two run under
`accelerate launch` (bielik/launch/dpo.slurm):
    bielik dpo --scale small --run-dir runs/small   (python -m bielik dpo ... under accelerate)
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F

PLACEMENTS = ("inside", "outside")
PAIR_KEYS = ("prompt", "chosen", "rejected")  # trl's conversational preference columns; all else is dropped


def dpop_loss(chosen_logps: torch.Tensor, rejected_logps: torch.Tensor, ref_chosen_logps: torch.Tensor,
              ref_rejected_logps: torch.Tensor, beta: float = 0.05, lam: float = 2.5,
              placement: str = "inside") -> tuple[torch.Tensor, dict]:
    """DPO-P loss per example and detached per-example stats (penalty, logits = the sigmoid's argument,
    chosen/rejected rewards = beta x log-ratio)."""
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not {placement!r}")
    chosen_logratios = chosen_logps - ref_chosen_logps
    rejected_logratios = rejected_logps - ref_rejected_logps
    # relu, not clamp(min=0) (gradient 1 at a tie) or ALLaMo's torch.maximum (0.5): the penalty pushes only once the
    # chosen answer has become less likely than under the reference, so until then DPO-P takes DPO's steps
    penalty = torch.relu(ref_chosen_logps - chosen_logps)
    margin = chosen_logratios - rejected_logratios
    if placement == "inside":
        logits = beta * (margin - lam * penalty)
    else:
        logits = beta * margin - lam * penalty
    stats = {"penalty": penalty.detach(), "logits": logits.detach(),
             "chosen_rewards": beta * chosen_logratios.detach(), "rejected_rewards": beta * rejected_logratios.detach()}
    return -F.logsigmoid(logits), stats


def penalty_weight(beta: float, lam: float, placement: str) -> float:
    """The coefficient in front of P inside the sigmoid: beta x lambda inside, lambda outside."""
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not {placement!r}")
    return beta * lam if placement == "inside" else lam


class _FirstOutput:
    """Stands in for the policy in trl's loss and keeps the output of its first call, so our loss reuses trl's
    forward (and its per-token log-probs) instead of running the model a second time."""

    def __init__(self, model):
        self.model, self.output = model, None

    def __call__(self, *args, **kwargs):
        out = self.model(*args, **kwargs)
        if self.output is None:
            self.output = out
        return out


def _check_supported(args) -> None:
    """DPO-P replaces trl's plain sigmoid loss; settings that change trl's loss or scores would be ignored."""
    problems = []
    if list(args.loss_type) != ["sigmoid"] or (args.loss_weights and list(args.loss_weights) != [1.0]):
        problems.append(f"loss_type must be ['sigmoid'] (got {args.loss_type}, weights {args.loss_weights})")
    if args.f_divergence_type != "reverse_kl":
        problems.append(f"f_divergence_type must be 'reverse_kl' (got {args.f_divergence_type!r})")
    if args.ld_alpha is not None:
        problems.append("ld_alpha must be None (log-probs are plain sums over the response)")
    if args.use_weighting:
        problems.append("use_weighting must be False")
    if not args.precompute_ref_log_probs:
        problems.append("precompute_ref_log_probs must be True (the reference log-probs are read from the batch)")
    if problems:
        raise ValueError("DPOPTrainer: " + "; ".join(problems))


@functools.cache
def trainer_class():
    """trl's DPOTrainer with the DPO-P loss (`dpop_lambda`, `placement`; beta comes from DPOConfig)."""
    from trl import DPOTrainer

    class DPOPTrainer(DPOTrainer):
        def __init__(self, *args, dpop_lambda: float = 2.5, placement: str = "inside", **kwargs):
            if placement not in PLACEMENTS:
                raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not {placement!r}")
            if dpop_lambda < 0:
                raise ValueError(f"dpop_lambda must be >= 0, not {dpop_lambda}")
            if kwargs.get("args") is None:
                raise ValueError("pass a DPOConfig as args=... (see dpo_config)")
            _check_supported(kwargs["args"])  # before trl spends a pass over the data on reference log-probs
            super().__init__(*args, **kwargs)
            if self.aux_loss_enabled:
                raise ValueError("DPOPTrainer does not add a MoE router loss; set router_aux_loss_coef=0.0")
            self.dpop_lambda, self.placement = float(dpop_lambda), placement

        def _compute_loss(self, model, inputs, return_outputs):
            # trl runs the forward, computes its sigmoid loss and logs rewards, margins, accuracies and
            # logps/chosen, logps/rejected; we keep all that and swap the loss it returns for DPO-P
            policy = _FirstOutput(model)
            result = super()._compute_loss(policy, inputs, return_outputs)
            dpo, outputs = result if return_outputs else (result, None)
            logps = completion_sums(policy.output.log_probs, inputs["completion_mask"])
            chosen, rejected = logps.chunk(2, dim=0)  # trl's batch is [chosen..., rejected...]
            per_example, stats = dpop_loss(chosen, rejected, inputs["ref_chosen_logps"], inputs["ref_rejected_logps"],
                                           self.beta, self.dpop_lambda, self.placement)
            mode = "train" if self.model.training else "eval"
            penalty = self.accelerator.gather(stats["penalty"])
            self._metrics[mode]["dpop/penalty"].append(penalty.mean().item())
            self._metrics[mode]["dpop/penalty_active"].append((penalty > 0).float().mean().item())
            self._metrics[mode]["dpop/dpo_loss"].append(self.accelerator.gather(dpo.detach()).mean().item())
            loss = per_example.mean()
            return (loss, outputs) if return_outputs else loss

    return DPOPTrainer


def completion_sums(per_token_logps: torch.Tensor, completion_mask: torch.Tensor) -> torch.Tensor:
    """Summed log-probs of the response tokens. `per_token_logps` [B, L-1] scores token t+1 from position t (as
    trl's fused head returns them, zero off the response); the mask [B, L] marks response tokens."""
    shift_mask = completion_mask[:, 1:]
    return (per_token_logps[:, -shift_mask.size(1):] * shift_mask).sum(dim=1)


def dpo_config(out_dir, *, beta: float = 0.05, lr: float = 7e-7, warmup_steps: int = 50, max_steps: int,
               batch_size: int, grad_accum: int = 1, bf16: bool = False, seed: int = 0, max_length: int | None = 1024,
               logging_steps: int = 1, save_steps: int = 0, save_only_model: bool = False,
               gradient_checkpointing: bool = True, eval_steps: int = 0):
    """The report's DPO-P optimiser, scaled: AdamW (0.9, 0.95), no weight decay, constant LR after a linear
    warm-up, clip 1.0, reference log-probs precomputed before training. `max_length` caps prompt + response
    (trl keeps the start); keep it within the model's context. `save_steps` > 0 writes checkpoint-N folders
    (safetensors, loadable with AutoModelForCausalLM)."""
    from trl import DPOConfig

    from bielik.training.arguments import arguments

    return arguments(DPOConfig, out_dir, lr=lr, warmup_steps=warmup_steps, batch_size=batch_size,
                     scheduler="constant_with_warmup", weight_decay=0.0, grad_accum=grad_accum, bf16=bf16,
                     seed=seed, logging_steps=logging_steps, save_steps=save_steps, eval_steps=eval_steps,
                     beta=beta, loss_type=["sigmoid"], max_steps=max_steps, max_length=max_length,
                     precompute_ref_log_probs=True, precompute_ref_batch_size=batch_size,
                     save_only_model=save_only_model, gradient_checkpointing=gradient_checkpointing)


def check_pair(pair: dict) -> None:
    """trl's conversational format: a prompt ending with the user's turn, one assistant message per response."""
    prompt = pair.get("prompt")
    if not (isinstance(prompt, list) and prompt and prompt[-1].get("role") == "user"):
        raise ValueError(f"pair {pair.get('id', '?')}: the prompt must be a list of messages ending with a user turn")
    for side in ("chosen", "rejected"):
        msgs = pair.get(side)
        if not (isinstance(msgs, list) and len(msgs) == 1 and msgs[0].get("role") == "assistant"):
            raise ValueError(f"pair {pair.get('id', '?')}: {side} must be one assistant message")


def to_dataset(pairs: list[dict]):
    """A datasets.Dataset of the trl columns only: extra keys (id, source, scores...) would reach trl's
    tokenizer and collator, and stale ref_*_logps columns would clash with the precomputed ones."""
    import datasets

    for p in pairs:
        check_pair(p)
    return datasets.Dataset.from_list([{k: p[k] for k in PAIR_KEYS} for p in pairs])


def to_dataset_on_disk(pairs: list[dict], folder):
    """`to_dataset` backed by a parquet file in `folder`, named by its content. trl caches the reference log-probs
    beside a data set's files; an in-memory one's cache goes to a temporary folder of each process, which the
    other processes of a data-parallel job cannot read (they fail with FileNotFoundError on rank 0's cache)."""
    import hashlib
    import json

    import datasets

    from bielik.book.artifacts import atomic_path

    from bielik.training.arguments import process_state

    ds = to_dataset(pairs)
    rows = json.dumps(ds.to_list(), ensure_ascii=False, sort_keys=True).encode("utf-8")
    path = Path(folder) / f"pairs-{hashlib.sha256(rows).hexdigest()[:16]}.parquet"
    # the main process writes the file and its arrow cache; the others then read both, not a half-built cache
    with process_state().main_process_first():
        if not path.exists():
            with atomic_path(path) as tmp:
                ds.to_parquet(str(tmp))
        return datasets.Dataset.from_parquet(str(path), cache_dir=str(Path(folder) / "cache"))


def train(model, ref_model, tok, pairs: list[dict], args, *, lam: float, placement: str,
          eval_pairs: list[dict] | None = None, callbacks=None, resume=None):
    """Run DPO-P (lam = 0: plain DPO) on preference pairs; `ref_model` None means the model as given is the
    reference. Returns the trainer: its state.log_history holds the curves, checkpoint-N folders are marked
    complete (training.checkpoints.CompleteCheckpoints). To resume, pass the starting model again (not the checkpoint's):
    the reference log-probs are computed from it before `resume` loads the checkpoint."""
    from transformers.trainer_callback import PrinterCallback

    from bielik.book import progress
    from bielik.training.checkpoints import CompleteCheckpoints

    callbacks = [*(callbacks or []), progress.training_callback()]  # pairs differ in length: steps/s
    cls = type("CheckpointedDPOPTrainer", (CompleteCheckpoints, trainer_class()), {})
    data = Path(args.output_dir) / "data"
    trainer = cls(model=model, ref_model=ref_model, args=args, train_dataset=to_dataset_on_disk(pairs, data),
                  eval_dataset=to_dataset_on_disk(eval_pairs, data) if eval_pairs else None, processing_class=tok,
                  callbacks=callbacks, dpop_lambda=lam, placement=placement)
    trainer.remove_callback(PrinterCallback)  # the curves are in trainer.state.log_history; chapters plot them
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def encode_pair(tok, pair: dict) -> dict:
    """prompt_ids, chosen_ids, rejected_ids as trl tokenises a conversational pair: the prompt with the
    generation prompt (`<|im_start|>assistant\\n`), each response as what prompt + response adds to it
    (the answer and its `<|im_end|>\\n`)."""
    from trl.data_utils import common_prefix_length

    def ids(messages, **kw):
        return list(tok.apply_chat_template(messages, tokenize=True, return_dict=True, **kw)["input_ids"])

    prompt = ids(pair["prompt"], add_generation_prompt=True)
    chosen, rejected = ids(pair["prompt"] + pair["chosen"]), ids(pair["prompt"] + pair["rejected"])
    n = min(common_prefix_length(prompt, chosen), common_prefix_length(prompt, rejected))
    return {"prompt_ids": prompt[:n], "chosen_ids": chosen[n:], "rejected_ids": rejected[n:]}


def token_logps(logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    """log p(token t+1 | ..t) for every position, [B, L-1]."""
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    return logp.gather(-1, input_ids[:, 1:, None]).squeeze(-1)


@torch.no_grad()
def sequence_logps(model, tok, pairs: list[dict], batch_size: int = 8,
                   max_length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-prob of each chosen and rejected response given its prompt (float32, on the CPU), batched with
    trl's own collator; pass the run's `max_length` to score exactly the tokens training saw."""
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    collate = DataCollatorForPreference(pad_token_id=tok.pad_token_id, max_length=max_length)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chosen, rejected = [], []
    for i in range(0, len(pairs), batch_size):
        batch = collate([encode_pair(tok, p) for p in pairs[i:i + batch_size]])
        ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        sums = completion_sums(token_logps(logits, ids), batch["completion_mask"].to(device)).cpu()
        c, r = sums.chunk(2)
        chosen.append(c)
        rejected.append(r)
    model.train(was_training)
    return torch.cat(chosen), torch.cat(rejected)


def preference_metrics(policy_logps: tuple[torch.Tensor, torch.Tensor], ref_logps: tuple[torch.Tensor, torch.Tensor],
                       beta: float) -> dict:
    """From (chosen, rejected) log-probs of the policy and the reference: accuracy (implicit reward margin > 0, a
    tie counting half, so that the reference itself scores 0.5),
    the mean margin beta(r_w - r_l), the mean change of the chosen and rejected log-probs (r_w, r_l) and the
    share of chosen answers that became less likely than under the reference (where DPO-P's penalty fires)."""
    (pc, pr), (rc, rr) = policy_logps, ref_logps
    r_w, r_l = pc.float() - rc.float(), pr.float() - rr.float()
    margin = beta * (r_w - r_l)
    accuracy = ((margin > 0).float() + 0.5 * (margin == 0).float()).mean().item()
    return {"accuracy": accuracy, "reward_margin": margin.mean().item(),
            "chosen_logp_change": r_w.mean().item(), "rejected_logp_change": r_l.mean().item(),
            "chosen_fell": (r_w < 0).float().mean().item(), "n": len(r_w)}


def metrics_by_source(policy_logps: tuple[torch.Tensor, torch.Tensor], ref_logps: tuple[torch.Tensor, torch.Tensor],
                      pairs: list[dict], beta: float) -> dict[str, dict]:
    """`preference_metrics` for each pair source (and "all"): knowledge pairs and edit pairs behave differently."""
    out = {}
    for source in [*dict.fromkeys(p["source"] for p in pairs), "all"]:
        idx = torch.tensor([i for i, p in enumerate(pairs) if source in ("all", p["source"])])
        pick = lambda pair: (pair[0][idx], pair[1][idx])  # noqa: E731
        out[source] = preference_metrics(pick(policy_logps), pick(ref_logps), beta)
    return out


# --- chapter 06's runs ------------------------------------------------------------------------------

def pair_tokens(tok, pair: dict) -> int:
    """Tokens of the longer side of a pair, prompt included: what `max_length` must hold for nothing to be cut."""
    e = encode_pair(tok, pair)
    return len(e["prompt_ids"]) + max(len(e["chosen_ids"]), len(e["rejected_ids"]))


def heldout_callback(pairs: list[dict], tok, ref_logps: tuple[torch.Tensor, torch.Tensor], beta: float, every: int,
                     max_length: int | None = None, batch_size: int = 16):
    """`preference_metrics` of held-out pairs against the starting model, at the start and every `every` steps,
    into `callback.curve`: the chosen and rejected log-prob trajectories."""
    from bielik.training.curves import measure_every

    return measure_every(lambda state, model: preference_metrics(
        sequence_logps(model, tok, pairs, batch_size, max_length), ref_logps, beta), every)


def phase_steps(steps: int, phases: int) -> list[int]:
    """The ends of `phases` equal parts of a run of `steps` steps (the last is the final step)."""
    return sorted({max(1, round(k * steps / phases)) for k in range(1, phases + 1)}) if phases else []


def save_at(steps: list[int]):
    """A callback that saves a (complete) checkpoint at each of `steps`, besides the periodic ones."""
    from transformers import TrainerCallback

    class SaveAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step in steps:
                control.should_save = True

    return SaveAt()


def phase_folder(out_dir, name: str, step: int) -> Path:
    """Where `run_variant` exports the checkpoint of run `name` at `step`: out_dir/<name>-phases/step-N."""
    return Path(out_dir) / f"{name}-phases" / f"step-{step}"


def phase_checkpoints(folder) -> list[Path]:
    """The exported phase checkpoints in `folder` (<name>-phases), in training order (by step, not by name:
    step-10 comes after step-9). A folder with none is an error naming it."""
    from bielik.training.checkpoints import numbered

    found = numbered(folder, "step-")
    if not found:
        raise FileNotFoundError(f"{folder} holds no step-N checkpoints: rerun chapter 06 with phases > 0")
    return found


def run_variant(name: str, start_dir, tok, train_pairs: list[dict], heldout_pairs: list[dict], out_dir, P, *,
                lam: float, placement: str = "inside", phases: int = 0, seed: int = 0, curve_points: int = 6) -> dict:
    """Train the model in `start_dir` with DPO-P (lam = 0: DPO) on `train_pairs` and save it to out_dir/<name>.
    `P` carries beta, lr, warmup, epochs (may be fractional), batch_size, grad_accum, context (max_length),
    save_every (0: no periodic checkpoints) and bf16. With `phases` > 0 the run also saves a checkpoint at the end
    of each of that many equal parts of training and exports them as model folders out_dir/<name>-phases/step-N
    (the last is the final model): chapter 07 merges them. A killed run resumes from its last complete
    checkpoint."""
    import math
    import time

    from bielik.model.storage import load_model, save_model
    from bielik.training.arguments import processes
    from bielik.training.checkpoints import fingerprint, resume_point, run_parameters
    from bielik.training.device import needs_checkpointing

    out_dir = Path(out_dir)
    model = load_model(start_dir)
    model.config.pad_token_id = model.generation_config.pad_token_id = tok.pad_token_id
    # the starting model is the reference (trl precomputes it likewise for the training pairs), scored under the
    # autocast that accelerate wraps around the model's forward during training: else bf16 rounding alone would
    # move the held-out log-probs by a fraction of a nat before the first step
    device = next(model.parameters()).device.type
    with torch.autocast(device, dtype=torch.bfloat16, enabled=bool(P.bf16)):
        ref_heldout = sequence_logps(model, tok, heldout_pairs, max_length=P.context)
    steps = math.ceil(len(train_pairs) / (P.batch_size * P.grad_accum * processes()) * P.epochs)
    ends = phase_steps(steps, phases)
    args = dpo_config(out_dir / f"{name}-checkpoints", beta=P.beta, lr=P.lr, warmup_steps=P.warmup, max_steps=steps,
                      batch_size=P.batch_size, grad_accum=P.grad_accum, bf16=bool(P.bf16), seed=seed,
                      max_length=P.context, save_steps=P.save_every,  # a pair is two rows: chosen and rejected
                      gradient_checkpointing=needs_checkpointing(model, 2 * P.batch_size, P.context))
    held = heldout_callback(heldout_pairs, tok, ref_heldout, P.beta, every=max(1, steps // curve_points),
                            max_length=P.context)
    start = time.perf_counter()
    shape = run_parameters(args, data=fingerprint(train_pairs), model=str(start_dir), lam=lam, placement=placement,
                           phases=ends)
    trainer = train(model, None, tok, train_pairs, args, lam=lam, placement=placement,
                    callbacks=[held, save_at(ends)], resume=resume_point(args.output_dir, shape))
    seconds = time.perf_counter() - start
    exported = [phase_folder(out_dir, name, step) for step in ends]
    # decided before any process writes: in a data-parallel job every process must make the same save_model calls
    missing = [(step, target) for step, target in zip(ends, exported) if not target.exists()]
    save_model(model, out_dir / name, tok)
    for step, target in missing:
        save_model(load_model(Path(args.output_dir) / f"checkpoint-{step}"), target, tok)
    # a pair runs as two sequences, prompt + chosen and prompt + rejected (padding not counted)
    encoded = [encode_pair(tok, p) for p in train_pairs]
    per_pair = sum(2 * len(e["prompt_ids"]) + len(e["chosen_ids"]) + len(e["rejected_ids"]) for e in encoded)
    tokens = per_pair / len(encoded) * trainer.state.global_step * P.batch_size * P.grad_accum * processes()
    return {"name": name, "lam": lam, "placement": placement, "steps": trainer.state.global_step,
            "pairs": len(train_pairs), "processes": trainer.accelerator.num_processes,
            "heldout": held.curve[-1], "heldout_curve": held.curve, "phases": exported,
            "train_log": [h for h in trainer.state.log_history if "loss" in h],
            "seconds": seconds, "tokens_per_s": tokens / seconds}


def inputs(ch, tok):
    """Chapter 06's pairs: candidates from the data at hand and from chapter 05's model answering quiz questions,
    through the preference pipeline, then the pairs that fit the context, split and sampled by the chapter's
    parameters. A namespace with `pairs` (all kept by the pipeline), `steps` (its counts), `too_long`, `train`,
    `heldout`."""
    from types import SimpleNamespace

    from bielik.book.paths import repo_root
    from bielik.data import sampling
    from bielik.model import chat, storage
    from bielik.posttrain import preferences

    P, data = ch.params, repo_root() / "data"
    candidates = preferences.build(data, seed=ch.seed, limit_per_source=P.pairs_per_source or None)
    sft = storage.load_model(ch.require("05", "model"))
    questions = preferences.quiz_for_model(data, candidates, P.model_answers)
    candidates += preferences.from_model(questions, lambda prompts: [chat.reply(sft, tok, q, 32) for q in prompts])
    pairs, steps = preferences.pipeline(candidates, seed=ch.seed)
    fit = [pair_tokens(tok, p) <= P.context for p in pairs]  # trl would cut a longer pair
    train = [p for p, ok in zip(pairs, fit) if ok and p["split"] == "train"]
    heldout = [p for p, ok in zip(pairs, fit) if ok and p["split"] == "heldout"]
    return SimpleNamespace(pairs=pairs, steps=steps, too_long=[p for p, ok in zip(pairs, fit) if not ok],
                           train=sampling.evenly(train, P.train_pairs) if P.train_pairs else train,
                           heldout=sampling.evenly(heldout, P.heldout_pairs) if P.heldout_pairs else heldout)


def main(scale: str = "full", run_dir=None) -> None:
    """The cluster entry point (`bielik dpo`): chapter 06's DPO-P run with its phase checkpoints, the scale's
    presets, as a job."""
    from bielik.book.artifacts import write_json
    from bielik.book.session import start
    from bielik.model import storage

    ch = start("06", scale=scale, run_dir=run_dir)
    sft_model = ch.require("05", "model")
    tok = storage.load_tokenizer(sft_model)
    data = inputs(ch, tok)
    write_json(ch.dir / "pairs.json", {"train": data.train, "heldout": data.heldout})  # chapter 07 scores these
    P = ch.params
    result = run_variant("dpo-p", sft_model, tok, data.train, data.heldout, ch.dir, P, lam=P.lam,
                         placement=P.placement, phases=P.phases, seed=ch.seed)
    write_json(ch.dir / "dpo-p-result.json", result)
