"""The claims ledger (chapter 09): each claim of the report a small run can test, the report's figure, ours, and a
verdict computed from the figures the chapters recorded in runs/<scale>/metrics/, never typed in.

Verdicts: "supported", "not supported", "not testable at this scale" (the run cannot tell, e.g. every model sits at
the tasks' baselines, or the effect is smaller than the run's noise) and "not run yet" (the chapter that measures it
has not been run at this scale).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bielik.book import figures

SUPPORTED, NOT_SUPPORTED, UNTESTABLE, NOT_RUN = ("supported", "not supported", "not testable at this scale",
                                                 "not run yet")
NOISE_NATS = 0.01  # held-out loss differences smaller than this are within what another seed could move
NOISE_LOGP = 0.5  # nats of an answer's summed log-prob: a mean change this small is not a fall
NOISE_POINTS = 2.0  # harness averages (normalised points) closer than this to each other are a tie at our sizes


class Missing(KeyError):
    pass


@dataclass(frozen=True)
class Claim:
    claim: str
    source: str  # where the report (or the work it follows) says it
    paper: str  # the report's figure, as the report gives it
    chapter: str  # the chapter that measures ours
    judge: Callable[["Figures"], tuple[str, str]]  # -> (our figure, verdict)


class Figures:
    """Recorded figures of a run, by chapter and name."""

    def __init__(self, run: Path):
        self.run = Path(run)

    def __call__(self, chapter: str, name: str):
        try:
            return figures.get(self.run, chapter, name)
        except KeyError as e:
            raise Missing(str(e)) from None


def _delta(value: float, noise: float, unit: str, better_if_negative: bool = True) -> tuple[str, str]:
    text = f"{value:+.3f} {unit}"
    if abs(value) < noise:
        return text + f" (within ±{noise})", UNTESTABLE
    good = value < 0 if better_if_negative else value > 0
    return text, SUPPORTED if good else NOT_SUPPORTED


def parameters(f: Figures):
    n = f("03_upscaling", "full_upscaled_parameters")
    return f"{n:,} parameters from the configuration", SUPPORTED if abs(n / 1e9 - 11.17) < 0.005 else NOT_SUPPORTED


def upscaling_starts_worse(f: Figures):
    d = f("04_pretraining", "upscaled_start_minus_base_pl")
    return _delta(d, NOISE_NATS, "nats/token vs the base", better_if_negative=False)


def upscaling_recovers(f: Figures):
    if f("04_pretraining", "upscaled_start_minus_base_pl") <= 0:
        return "started no worse than its base", UNTESTABLE
    tokens, budget = f("04_pretraining", "recovery_tokens_pl"), f("04_pretraining", "pretraining_tokens")
    if tokens < 0:
        return f"not below its base within {budget:,} tokens", NOT_SUPPORTED
    return f"below its base after {tokens:,} of {budget:,} tokens ({tokens / budget:.0%})", SUPPORTED


def upscaling_beats_scratch(f: Figures):
    return _delta(f("04_pretraining", "upscaled_minus_scratch_pl"), NOISE_NATS, "nats/token (Polish, vs scratch)")


def filter_helps(f: Figures):
    return _delta(f("04_pretraining", "filtered_minus_unfiltered_pl"), NOISE_NATS, "nats/token (vs unfiltered)")


def classifier_accuracy(f: Figures):
    acc = f("01_data", "test_accuracy")
    verdict = SUPPORTED if acc >= 0.94 - 0.03 else NOT_SUPPORTED
    return f"{acc:.3f} on our rule-and-damage labels", verdict


def wicel_helps(f: Figures):
    return _delta(f("05_sft", "wicel minus ce: held-out answer loss"), NOISE_NATS, "nats/token (WICEL - CE)")


def pipeline_raises_score(f: Figures):
    start = f("04_pretraining", "pretrained: harness average, 0-shot")
    for chapter, stage in (("07_merging", "merged"), ("06_dpo", "dpo-p"), ("05_sft", "sft-wicel_alr")):
        try:
            end = f(chapter, f"{stage}: harness average, 0-shot")
            break
        except Missing:
            continue
    else:
        raise Missing("no post-training stage scored yet")
    text = f"{start:+.1f} -> {end:+.1f} ({stage})"
    if max(abs(start), abs(end)) < NOISE_POINTS * 2:
        return text + ": both at the baseline", UNTESTABLE
    return _delta(end - start, NOISE_POINTS, "points", better_if_negative=False)


def dpop_keeps_chosen(f: Figures):
    dpop = f("06_dpo", "dpo-p: chosen log-prob change")
    dpo = f("06_dpo", "dpo: chosen log-prob change")
    text = f"held-out chosen log-prob change: DPO-P {dpop:+.2f}, DPO {dpo:+.2f} nats"
    return text, SUPPORTED if dpop >= -NOISE_LOGP else NOT_SUPPORTED


def merge_as_good(f: Figures):
    merged = f("07_merging", "merged: harness average, 0-shot")
    best = f("07_merging", "best component: harness average, 0-shot")
    gap = merged - best
    text = f"merged {merged:+.1f} vs best part {best:+.1f} points"
    return text, SUPPORTED if gap > -NOISE_POINTS else NOT_SUPPORTED


def _retention(fmt: str, paper: float):
    def judge(f: Figures):
        kept = f("08_quantization", f"{fmt}: % of the 16-bit score")
        if f("08_quantization", "f16: harness average, 0-shot") < NOISE_POINTS * 2:
            # a 16-bit model no better than the constant answer has no skill to keep or lose
            return f"{kept:.1f}% of a 16-bit score at or below the baseline", UNTESTABLE
        return f"{kept:.1f}%", SUPPORTED if kept >= paper - 2 else NOT_SUPPORTED
    return judge


CLAIMS = [
    Claim("Depth up-scaling Mistral 7B to 50 layers gives 11.17B parameters", "§2, Table 1", "11.17B", "03_upscaling",
          parameters),
    Claim("The XGBoost quality classifier is accurate", "§3.1.2, Table 3", "accuracy 0.94", "01_data",
          classifier_accuracy),
    Claim("A stacked model starts worse than its base", "§2 (after SOLAR)", "qualitative", "04_pretraining",
          upscaling_starts_worse),
    Claim("... and recovers quickly in continued pretraining", "§2 (after SOLAR)", "qualitative", "04_pretraining",
          upscaling_recovers),
    Claim("Up-scaling beats training the same size from scratch", "§2 (after SOLAR)", "qualitative",
          "04_pretraining", upscaling_beats_scratch),
    Claim("Training on quality-filtered data helps", "§3.1", "qualitative (no ablation given)", "04_pretraining",
          filter_helps),
    Claim("WICEL helps when data quality is mixed", "§4.2.3", "no ablation given", "05_sft", wicel_helps),
    Claim("DPO-P keeps the chosen answer's likelihood from falling", "§4.4 (after Smaug)", "qualitative", "06_dpo",
          dpop_keeps_chosen),
    Claim("A linear merge is at least as good as its parts", "§4.5", "v2.3 65.71 vs v2.2 65.57 (5-shot)",
          "07_merging", merge_as_good),
    Claim("Post-training raises the Polish leaderboard average", "Tables 7-8", "58.14 (base) -> 65.71 (v2.3)",
          "05_sft", pipeline_raises_score),
    Claim("Q8_0 keeps the score", "Table 9", "100.1%", "08_quantization", _retention("Q8_0", 100.1)),
    Claim("Q4_K_M keeps most of the score", "Table 9", "98.5%", "08_quantization", _retention("Q4_K_M", 98.5)),
]


def verdicts(run: Path) -> list[dict]:
    """The ledger's rows for a run folder."""
    f, rows = Figures(run), []
    for c in CLAIMS:
        try:
            ours, verdict = c.judge(f)
        except Missing:
            ours, verdict = "-", NOT_RUN
        rows.append({"claim": c.claim, "where": c.source, "the report": c.paper, "ours": ours, "verdict": verdict,
                     "measured in": c.chapter})
    return rows
