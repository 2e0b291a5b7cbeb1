"""The four scales and every chapter's preset parameters: the one place where sizes are set.

A notebook's `parameters` cell holds `scale`, `run_dir`, `seed` and its own overrides, each None by
default; `resolve` turns None into the preset of the chosen scale and rejects what it does not know.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_SCALE = "tiny"


@dataclass(frozen=True)
class Scale:
    name: str
    purpose: str
    hardware: str
    budget: str
    data: str
    model: str
    offline: bool  # True: nothing may touch the network (HF_HUB_OFFLINE=1)


SCALES: dict[str, Scale] = {
    s.name: s
    for s in [
        Scale("ci", "the test suite executes every chapter end to end",
              "any CPU, 2 cores", "whole book under 10 min",
              "a few hundred documents from the repository's data/",
              "models of ~1M parameters trained from scratch", offline=True),
        Scale("tiny", "the published book and course sessions: real training, visible learning",
              "a laptop CPU, 2 cores", "whole book under 45 min",
              "the repository's data/ (Polish and English, tens of MB)",
              "models of a few million parameters trained from scratch", offline=True),
        Scale("small", "the report's path on a real pretrained base, about 1/20 of its size",
              "one GPU", "hours",
              "hub datasets through the same loaders (bielik fetch --scale small)",
              "SmolLM2-360M (32 layers) up-scaled to 50 as the report does", offline=False),
        Scale("full", "the paper's recipe, configs and launch scripts",
              "a GPU cluster, multi-node", "weeks (the report: 198B tokens x 2 epochs)",
              "the report's mix: 90B Polish tokens + English + instructions",
              "Mistral-7B-v0.2 up-scaled to 50 layers (11.17B)", offline=False),
    ]
}

# chapter id -> scale -> {parameter: value}. Every scale names the same parameters.
PRESETS: dict[str, dict[str, dict[str, object]]] = {
    "00_overview": {
        "ci": {"dpi": 60},
        "tiny": {"dpi": 110},
        "small": {"dpi": 110},
        "full": {"dpi": 110},
    },
    # docs_per_source: labelled documents read from each source of data/ (0 = all);
    # hub_dataset: "name:config" of a hub corpus to filter besides data/ ("" = none), hub_docs of it.
    "01_data": {
        "ci": {"docs_per_source": 40, "min_chars": 200, "synthetic_share": 0.3, "threshold": 0.9,
               "n_estimators": 300, "num_proc": 1, "topic_docs": 3000, "other_below": 0.2,
               "hub_dataset": "", "hub_docs": 0},
        "tiny": {"docs_per_source": 1200, "min_chars": 200, "synthetic_share": 0.3, "threshold": 0.9,
                 "n_estimators": 1000, "num_proc": 2, "topic_docs": 0, "other_below": 0.2,
                 "hub_dataset": "", "hub_docs": 0},
        "small": {"docs_per_source": 0, "min_chars": 200, "synthetic_share": 0.3, "threshold": 0.9,
                  "n_estimators": 1000, "num_proc": 8, "topic_docs": 0, "other_below": 0.2,
                  "hub_dataset": "HPLT/HPLT2.0_cleaned:pol_Latn", "hub_docs": 200_000},
        "full": {"docs_per_source": 0, "min_chars": 200, "synthetic_share": 0.3, "threshold": 0.9,
                 "n_estimators": 1000, "num_proc": 64, "topic_docs": 0, "other_below": 0.2,
                 "hub_dataset": "HPLT/HPLT2.0_cleaned:pol_Latn", "hub_docs": 0},
    },
    # base_tokenizer: a hub id whose tokenizer gets the chat tokens ("" = train our own on chapter 01's corpus)
    "02_tokenizer": {
        "ci": {"vocab_size": 1000, "train_docs": 300, "english_share": 0.4, "heldout_docs": 60, "base_tokenizer": ""},
        # english_share is kept exactly: where a pool is too small for its part, the sample shrinks (chapter 02
        # prints by how much); at tiny chapter 01 keeps fewer Polish training documents than 0.86 x 6,000
        "tiny": {"vocab_size": 8000, "train_docs": 6000, "english_share": 0.14, "heldout_docs": 300,
                 "base_tokenizer": ""},
        # small extends SmolLM2's own tokenizer, and trains ours beside it for the fertility comparison
        "small": {"vocab_size": 32000, "train_docs": 0, "english_share": 0.4, "heldout_docs": 1000,
                  "base_tokenizer": "HuggingFaceTB/SmolLM2-360M"},
        "full": {"vocab_size": 32000, "train_docs": 0, "english_share": 0.4, "heldout_docs": 1000,
                 "base_tokenizer": "mistralai/Mistral-7B-v0.2"},
    },
    # n_layers, m: the base depth and the layers each copy loses (the report: 32 and 7; m/n kept near 7/32);
    # base_model: a hub id to up-scale ("" = pretrain our own stand-in for base_steps steps first)
    "03_upscaling": {
        "ci": {"hidden": 256, "intermediate": 512, "heads": 4, "kv_heads": 2, "n_layers": 5, "m": 1,
               "context": 128, "base_model": "", "base_steps": 15, "batch_size": 4, "lr": 3e-3,
               "english_share": 0.8, "heldout_rows": 8, "bf16": "auto"},
        "tiny": {"hidden": 256, "intermediate": 768, "heads": 8, "kv_heads": 2, "n_layers": 9, "m": 2,
                 "context": 256, "base_model": "", "base_steps": 250, "batch_size": 8, "lr": 2e-3,
                 "english_share": 0.8, "heldout_rows": 32, "bf16": "auto"},
        # small and full up-scale a real pretrained base whose own config sets the widths (the values here are its,
        # for the record; context is chapter 04's, so that the book has one held-out set); SmolLM2-360M has
        # Mistral 7B's 32 layers, so the report's map n = 32, m = 7 holds
        "small": {"hidden": 960, "intermediate": 2560, "heads": 15, "kv_heads": 5, "n_layers": 32, "m": 7,
                  "context": 1024, "base_model": "HuggingFaceTB/SmolLM2-360M", "base_steps": 0, "batch_size": 8,
                  "lr": 0.0, "english_share": 0.8, "heldout_rows": 256, "bf16": "auto"},
        "full": {"hidden": 4096, "intermediate": 14336, "heads": 32, "kv_heads": 8, "n_layers": 32, "m": 7,
                 "context": 32768, "base_model": "mistralai/Mistral-7B-v0.2", "base_steps": 0, "batch_size": 1,
                 "lr": 0.0, "english_share": 0.8, "heldout_rows": 64, "bf16": True},
    },
    # steps x batch_size x grad_accum x context is the token budget; bf16 "auto" measures both on this machine;
    # seeds: runs of the main run in all (the others with seed + 1, ...), whose spread is the noise of every gap;
    # scratch_budget: the from-scratch control trains the main run's "tokens", or its "compute" (the main run's
    # training FLOPs plus the base's pretraining in chapter 03: SOLAR's comparison, about 2.5 times the steps at tiny)
    "04_pretraining": {
        "ci": {"context": 128, "steps": 12, "batch_size": 4, "grad_accum": 1, "lr": 2e-3, "min_lr_ratio": 0.45,
               "warmup": 2, "polish_share": 0.7, "instruction_share": 0.05, "heldout_rows": 8, "eval_every": 4,
               "save_every": 6, "bf16": "auto", "baselines": True, "eval_limit": 8, "seeds": 2,
               "scratch_budget": "compute"},
        # tiny trains four runs of one budget (main, two controls, a second seed): 120 steps keep the chapter near
        # 12 minutes on the 2-core reference machine
        "tiny": {"context": 256, "steps": 120, "batch_size": 8, "grad_accum": 1, "lr": 1e-3, "min_lr_ratio": 0.45,
                 "warmup": 12, "polish_share": 0.7, "instruction_share": 0.05, "heldout_rows": 32, "eval_every": 20,
                 "save_every": 40, "bf16": "auto", "baselines": True, "eval_limit": 100, "seeds": 2,
                 "scratch_budget": "tokens"},
        "small": {"context": 1024, "steps": 20000, "batch_size": 16, "grad_accum": 8, "lr": 3e-4,
                  "min_lr_ratio": 0.45, "warmup": 500, "polish_share": 0.5, "instruction_share": 0.05,
                  "heldout_rows": 256, "eval_every": 1000, "save_every": 1000, "bf16": "auto", "baselines": True,
                  "eval_limit": 1000, "seeds": 2, "scratch_budget": "tokens"},
        # the report: 97,250 iterations x 128 sequences x 32,768 tokens, cosine 2e-5 -> 9e-6, warm-up 50, bf16;
        # batch_size is per GPU, and 16 nodes x 8 GPUs make the global batch of 128 (bielik/launch/)
        "full": {"context": 32768, "steps": 97250, "batch_size": 1, "grad_accum": 1, "lr": 2e-5,
                 "min_lr_ratio": 0.45, "warmup": 50, "polish_share": 0.45, "instruction_share": 0.05,
                 "heldout_rows": 64, "eval_every": 1000, "save_every": 250, "bf16": True, "baselines": False,
                 "eval_limit": 0, "seeds": 1, "scratch_budget": "tokens"},
    },
    # train_examples: instruction examples trained on (0 = all); low_quality_share: the share of them damaged for
    # the ablation; variants: which of ce, wicel, wicel_alr to train (the last one listed is kept for chapter 06);
    # weighting: WICEL's denominator, "tokens" (ALLaMo's default) or "weights" (OpenChat style); seeds: runs of
    # plain CE in all, whose spread is the noise of WICEL minus CE
    "05_sft": {
        "ci": {"context": 128, "train_examples": 40, "heldout_examples": 16, "epochs": 1, "batch_size": 4,
               "grad_accum": 1, "lr": 1e-3, "min_lr_ratio": 0.0857, "warmup": 1, "low_quality_share": 0.3,
               "variants": "ce,wicel,wicel_alr", "weighting": "tokens", "eval_limit": 8, "bf16": "auto",
               "seeds": 2},
        "tiny": {"context": 256, "train_examples": 600, "heldout_examples": 120, "epochs": 2, "batch_size": 8,
                 "grad_accum": 2, "lr": 5e-4, "min_lr_ratio": 0.0857, "warmup": 4, "low_quality_share": 0.3,
                 "variants": "ce,wicel,wicel_alr", "weighting": "tokens", "eval_limit": 100, "bf16": "auto",
                 "seeds": 2},
        "small": {"context": 2048, "train_examples": 0, "heldout_examples": 500, "epochs": 3, "batch_size": 8,
                  "grad_accum": 16, "lr": 2e-5, "min_lr_ratio": 0.0857, "warmup": 50, "low_quality_share": 0.3,
                  "variants": "ce,wicel,wicel_alr", "weighting": "tokens", "eval_limit": 1000, "bf16": "auto",
                  "seeds": 2},
        # the report: cosine 7e-6 -> 6e-7, warm-up 50, 3 epochs, context 8,192, global batch 128 (local 1)
        "full": {"context": 8192, "train_examples": 0, "heldout_examples": 2000, "epochs": 3, "batch_size": 1,
                 "grad_accum": 1, "lr": 7e-6, "min_lr_ratio": 0.0857, "warmup": 50, "low_quality_share": 0.0,
                 "variants": "wicel_alr", "weighting": "tokens", "eval_limit": 0, "bf16": True, "seeds": 1},
    },
    # pairs_per_source: candidates read from each data/ source (0 = all); model_answers: quiz questions the SFT
    # model answers itself (its answer against the gold); context: max prompt + response tokens (longer pairs are
    # left out); train_pairs, heldout_pairs: 0 = all; lam: DPO-P's lambda; placement: inside or outside beta;
    # phases: checkpoints kept for chapter 07; compare_dpo: also train plain DPO on the same pairs; seeds: runs of
    # DPO-P in all, whose spread is the noise of its held-out figures
    "06_dpo": {
        "ci": {"pairs_per_source": 20, "model_answers": 4, "context": 128, "train_pairs": 16, "heldout_pairs": 8,
               "epochs": 1, "batch_size": 4, "grad_accum": 1, "lr": 1e-3, "warmup": 1, "beta": 0.05, "lam": 2.5,
               "placement": "inside", "phases": 3, "save_every": 0, "compare_dpo": True, "eval_limit": 8,
               "bf16": "auto", "seeds": 2},
        "tiny": {"pairs_per_source": 300, "model_answers": 60, "context": 160, "train_pairs": 160,
                 "heldout_pairs": 100, "epochs": 2, "batch_size": 8, "grad_accum": 1, "lr": 2e-4, "warmup": 3,
                 "beta": 0.05, "lam": 2.5, "placement": "inside", "phases": 3, "save_every": 0, "compare_dpo": True,
                 "eval_limit": 100, "bf16": "auto", "seeds": 2},
        "small": {"pairs_per_source": 0, "model_answers": 1000, "context": 1024, "train_pairs": 0,
                  "heldout_pairs": 500, "epochs": 2, "batch_size": 8, "grad_accum": 8, "lr": 5e-6, "warmup": 50,
                  "beta": 0.05, "lam": 2.5, "placement": "inside", "phases": 3, "save_every": 200,
                  "compare_dpo": True, "eval_limit": 1000, "bf16": "auto", "seeds": 2},
        # the report: beta 0.05, lambda 2.5, constant 7e-7 after 50 warm-up steps, 3,800 steps x 64 = 3.4 passes
        # over 72k pairs (global batch 64 = nodes x GPUs x batch_size x grad_accum, bielik/launch/)
        "full": {"pairs_per_source": 0, "model_answers": 5000, "context": 8192, "train_pairs": 0,
                 "heldout_pairs": 2000, "epochs": 3.4, "batch_size": 1, "grad_accum": 1, "lr": 7e-7, "warmup": 50,
                 "beta": 0.05, "lam": 2.5, "placement": "inside", "phases": 3, "save_every": 250,
                 "compare_dpo": False, "eval_limit": 0, "bf16": True, "seeds": 1},
    },
    # methods: comma-separated, of linear, ties and model_stock (linear, the report's choice, becomes the model);
    # density: the share of each task vector TIES keeps; eval_limit: documents per harness task (0 = all)
    "07_merging": {
        "ci": {"methods": "linear,ties,model_stock", "density": 0.5, "eval_limit": 8},
        "tiny": {"methods": "linear,ties,model_stock", "density": 0.5, "eval_limit": 100},
        "small": {"methods": "linear,ties,model_stock", "density": 0.5, "eval_limit": 1000},
        "full": {"methods": "linear,ties,model_stock", "density": 0.5, "eval_limit": 0},
    },
    # formats: GGUF types quantized from the 16-bit file; imatrix_formats: types quantized with an importance
    # matrix (embeddings and output kept at F16); calibration_rows: rows of Polish and English text for it;
    # eval_rows: held-out rows for perplexity, KLD and top-token agreement; speed_tokens: tokens generated per timing;
    # harness_formats: the files scored on the evaluation harness (0-shot, eval_limit documents per task);
    # gptq: also make a GPTQ W4A16 model with llm-compressor (the GPU-side format that a CPU can make and run)
    "08_quantization": {
        "ci": {"formats": "Q8_0,Q4_K_M", "imatrix_formats": "Q4_K_M", "calibration_rows": 4, "eval_rows": 2,
               "context": 128, "speed_tokens": 16, "harness_formats": "F16,Q8_0,Q4_K_M", "eval_limit": 6,
               "gptq": True},
        "tiny": {"formats": "Q8_0,Q6_K,Q5_K_M,Q4_K_M", "imatrix_formats": "Q4_K_M,IQ2_XXS", "calibration_rows": 64,
                 "eval_rows": 24, "context": 256, "speed_tokens": 64,
                 "harness_formats": "F16,Q8_0,Q4_K_M,Q4_K_M (imatrix)", "eval_limit": 50, "gptq": True},
        "small": {"formats": "Q8_0,Q6_K,Q5_K_M,Q4_K_M", "imatrix_formats": "Q4_K_M,IQ3_XXS,IQ2_XXS",
                  "calibration_rows": 200, "eval_rows": 100, "context": 1024, "speed_tokens": 128,
                  "harness_formats": "F16,Q8_0,Q6_K,Q4_K_M,Q4_K_M (imatrix),IQ2_XXS (imatrix)", "eval_limit": 500,
                  "gptq": True},
        "full": {"formats": "Q8_0,Q6_K,Q5_K_M,Q4_K_M", "imatrix_formats": "Q4_K_M,IQ3_XXS,IQ2_XXS",
                 "calibration_rows": 200, "eval_rows": 100, "context": 4096, "speed_tokens": 128,
                 "harness_formats": "F16,Q8_0,Q6_K,Q4_K_M,Q4_K_M (imatrix),IQ3_XXS (imatrix),IQ2_XXS (imatrix)",
                 "eval_limit": 0, "gptq": True},
    },
    # eval_limit: documents per task (0 = all); shots: "0", "5" or "0,5"; chat_tokens: the chat cell's answer length
    "09_evaluation": {
        "ci": {"eval_limit": 12, "shots": "0,5", "heldout_rows": 4, "chat_tokens": 16},
        "tiny": {"eval_limit": 100, "shots": "0,5", "heldout_rows": 32, "chat_tokens": 48},
        "small": {"eval_limit": 1000, "shots": "0,5", "heldout_rows": 256, "chat_tokens": 256},
        "full": {"eval_limit": 0, "shots": "0,5", "heldout_rows": 256, "chat_tokens": 512},
    },
}

# What every scored stage is also measured on, beside the leaderboard's tasks (bielik.evaluation.grammar):
# grammar_pairs, the minimal pairs scored per grammar task (0 = all the treebanks give); heldout_bytes, the UTF-8
# bytes of held-out Polish text that bits per byte is measured on.
YARDSTICKS = {
    "ci": {"grammar_pairs": 24, "heldout_bytes": 6_000},
    "tiny": {"grammar_pairs": 150, "heldout_bytes": 30_000},
    "small": {"grammar_pairs": 0, "heldout_bytes": 2_000_000},
    "full": {"grammar_pairs": 0, "heldout_bytes": 20_000_000},
}

# Where the evaluation tasks' documents come from: the repository's data/ at ci and tiny; at small and full, for
# the tasks whose sets the leaderboard's harness reads from the hub, those sets (speakleash/lm-evaluation-harness,
# branch polish3, lm_eval/tasks/*/*_mc.yaml: dataset_path). bielik.evaluation.polish_tasks reads their columns.
HUB_TASK_SETS = {"polemo2_out": "allegro/klej-polemo2-out", "klej_ner": "allegro/klej-nkjp-ner",
                 "polish_8tags": "sdadas/8tags", "dyk": "allegro/klej-dyk", "ppc": "sdadas/ppc"}
HUB_TASK_SCALES = ("small", "full")


def reads_hub_tasks(scale: str | None) -> bool:
    return scale in HUB_TASK_SCALES


# `bielik run --smoke`: the parameters that count steps, documents, examples and evaluations, capped at their `ci`
# value so that a scale's whole code path (its hub ids, model shapes, contexts and precision) runs in minutes.
# Nothing else changes. A count of 0 ("all") is capped too. The rows per step (batch_size, grad_accum) are counts
# as well: a step of 4 rows runs the same code as one of 128, and 128 rows of 1,024 tokens take minutes on a CPU.
SMOKE_CAPPED = frozenset({
    "batch_size", "grad_accum",  # 03-06
    "docs_per_source", "hub_docs", "topic_docs", "n_estimators",  # 01
    "train_docs", "heldout_docs", "vocab_size",  # 02 (SentencePiece cannot fill 32,000 tokens from ci's documents)
    "base_steps", "heldout_rows",  # 03, 04, 09
    "steps", "warmup", "eval_every", "save_every", "eval_limit",  # 04 (and eval_limit in 04-09)
    "train_examples", "heldout_examples", "epochs",  # 05
    "pairs_per_source", "model_answers", "train_pairs", "heldout_pairs",  # 06
    "calibration_rows", "eval_rows", "speed_tokens",  # 08
    "chat_tokens",  # 09
})


# counts whose ci value is 0 because ci does not use them (no hub corpus there)
SMOKE_UNUSED_AT_CI = {"hub_docs": 200}
# where 0 means "all" (capped in a smoke run); elsewhere 0 means none (base_steps, save_every) and stays 0
ZERO_MEANS_ALL = frozenset({"docs_per_source", "hub_docs", "topic_docs", "train_docs", "train_examples",
                            "pairs_per_source", "train_pairs", "heldout_pairs", "eval_limit"})


def smoke(chapter: str, scale: str) -> dict[str, object]:
    """The overrides `--smoke` applies to `chapter` at `scale`: each count of SMOKE_CAPPED at most its ci value."""
    params, ci = preset(chapter, scale), preset(chapter, "ci")
    out = {}
    for name in sorted(SMOKE_CAPPED & set(params)):
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if value == 0 and name not in ZERO_MEANS_ALL:
            out[name] = 0
            continue
        cap = ci[name] or SMOKE_UNUSED_AT_CI.get(name, 0)
        out[name] = cap if value == 0 else min(value, cap)
    return out


SMOKE_ENV = "BIELIK_SMOKE"  # set by `bielik run --smoke` for the chapters' kernels


def yardstick_sizes(scale: str) -> dict[str, int]:
    """YARDSTICKS at `scale`, capped at ci's sizes in a --smoke run (0 = all is capped too)."""
    sizes = dict(YARDSTICKS[get_scale(scale).name])
    if os.environ.get(SMOKE_ENV):
        sizes = {k: YARDSTICKS["ci"][k] if v == 0 else min(v, YARDSTICKS["ci"][k]) for k, v in sizes.items()}
    return sizes


# Parameters every chapter has, besides its own.
COMMON = ("scale", "run_dir", "seed")


class ScaleError(ValueError):
    """An unknown scale or parameter, said with the name that was wrong and the names that exist."""


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        raise ScaleError(f"unknown scale {name!r}: choose one of {', '.join(SCALES)}")
    return SCALES[name]


def preset(chapter: str, scale: str) -> dict[str, object]:
    """The preset parameters of `chapter` at `scale` (a copy)."""
    get_scale(scale)
    if chapter not in PRESETS:
        raise ScaleError(f"chapter {chapter!r} has no presets in bielik/book/scales.py "
                         f"(known: {', '.join(PRESETS)})")
    return dict(PRESETS[chapter][scale])


def parameter_names(chapter: str) -> list[str]:
    """The chapter's own parameters (besides scale, run_dir and seed), as its parameters cell declares them."""
    if chapter not in PRESETS:
        raise ScaleError(f"chapter {chapter!r} has no presets in bielik/book/scales.py (known: {', '.join(PRESETS)})")
    return list(PRESETS[chapter][DEFAULT_SCALE])


def as_list(value, cast=str) -> list:
    """A list parameter given as comma-separated text ("q8_0, Q4_K_M", "0,5"; papermill's -p passes text), its
    items stripped, empty ones dropped, each passed through `cast`; a list or a single number is taken as it is."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    out = []
    for item in items:
        item = item.strip() if isinstance(item, str) else item
        if item == "":
            continue
        try:
            out.append(cast(item))
        except ValueError:
            raise ScaleError(f"{item!r} in {value!r} is not a {cast.__name__}") from None
    return out


def resolve(chapter: str, scale: str, overrides: dict[str, object] | None = None) -> dict[str, object]:
    """The chapter's parameters at `scale`: the preset, with every override that is not None applied."""
    params = preset(chapter, scale)
    for name, value in (overrides or {}).items():
        if name not in params:
            raise ScaleError(f"chapter {chapter} has no parameter {name!r} "
                             f"(its parameters: {', '.join(list(COMMON) + list(params))})")
        if value is not None:
            params[name] = value
    return params
