"""The names of the figures the claims ledger reads, defined once: the chapters record under these names
(`ch.record(figure_names.TEST_ACCURACY, ...)`) and the ledger reads them, so a figure cannot be renamed on one
side only.
A test of the `ci` book fails when any claim is left "not run yet" after every chapter ran.
"""
from __future__ import annotations

# 01 · the quality classifier
TEST_ACCURACY = "test_accuracy"
# 03 · depth up-scaling
FULL_UPSCALED_PARAMETERS = "full_upscaled_parameters"
BASE_PRETRAINING_TOKENS = "base_pretraining_tokens"  # absent for a base from the hub
# 04 · continued pretraining (held-out loss in nats per token; `lang` is "pl" or "en")
PRETRAINING_TOKENS = "pretraining_tokens"
UPSCALED_START_MINUS_BASE = "upscaled_start_minus_base_pl"
RECOVERY_TOKENS = "recovery_tokens_pl"
FILTERED_MINUS_UNFILTERED = "filtered_minus_unfiltered_pl"
# the from-scratch control's training compute over the up-scaled model's (its base's pretraining included)
SCRATCH_COMPUTE_SHARE = "scratch_compute_share"


def upscaled_minus_scratch(lang: str = "pl") -> str:
    return f"upscaled_minus_scratch_{lang}"


def seed_spread(lang: str = "pl") -> str:
    """The spread of the main run's final held-out loss over its seeds."""
    return f"seed_spread_{lang}"


def seed_stage(stage: str, seed: int) -> str:
    """The stage name a model trained again with another seed is scored under."""
    return f"{stage}, seed {seed}"


# the spreads of the pretrained model's scores over chapter 04's seeds: the noise of harness averages, bits per
# byte and grammar accuracy wherever a claim compares two stages on them
AVERAGE_SPREAD = "pretrained seed spread: harness average, 0-shot"
# lm-eval's standard error of the same average (its documents sampled, not its seeds); a floor under the spread
AVERAGE_STDERR = "pretrained harness average, 0-shot: standard error"
BITS_SPREAD = "pretrained seed spread: bits per byte"
GRAMMAR_SPREAD = "pretrained seed spread: grammar track, accuracy"


# 05 · SFT
WICEL_MINUS_CE = "wicel minus ce: held-out answer loss"


def answer_loss_spread(variant: str = "ce") -> str:
    """The spread of a variant's held-out answer loss over its seeds."""
    return f"{variant} seed spread: held-out answer loss"


# 06 · DPO-P
def chosen_change(stage: str) -> str:
    """The mean change of the held-out chosen answers' log-probability against the reference (nats)."""
    return f"{stage}: chosen log-prob change"


def dpop_spread(key: str) -> str:
    """The spread of one of DPO-P's held-out figures ("chosen_logp_change", "accuracy") over its seeds."""
    return f"dpo-p seed spread: {key.replace('_', ' ')}"


# 07 · merging
BEST_PART_AVERAGE = "best component: harness average, 0-shot"
BEST_PART_GRAMMAR = "best component: grammar track, accuracy"
BEST_PART_BITS = "best component: bits per byte"


# 08 · quantization
def retention(stage: str) -> str:
    """A file's raw harness average as a share of the 16-bit file's (%)."""
    return f"{stage}: % of the 16-bit score"


# every scored stage (bielik.evaluation.harness)
def average(stage: str, shots: int) -> str:
    """A stage's leaderboard average (normalised points)."""
    return f"{stage}: harness average, {shots}-shot"


def grammar(stage: str, what: str = "normalised") -> str:
    """A stage's grammar track: "accuracy" (%), "unigram" (%) or "normalised" (points above the unigram)."""
    return f"{stage}: grammar track, {what}"


def bits(stage: str) -> str:
    """A stage's bits per byte on held-out Polish text."""
    return f"{stage}: bits per byte"


# the floor bits per byte is read against: a unigram model of the chapter's tokenizer, counted on chapter 01's
# Polish training text, on the same held-out text (one value per chapter; every stage there shares it)
UNIGRAM_BITS = "unigram model: bits per byte"
