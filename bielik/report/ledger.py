"""The claims ledger (chapter 09): each claim of the report a small run can test, the report's figure, ours, and a
verdict computed from the figures the chapters recorded in runs/<scale>/metrics/, never typed in.

Verdicts: "supported", "not supported", "not testable at this scale" (the run cannot tell, e.g. every model sits at
the tasks' baselines, or the effect is smaller than the run's noise) and "not run yet" (the chapter that measures it
has not been run at this scale). Each verdict also says which yardstick decided it: the leaderboard's tasks, or,
where those sit at their baselines, bits per byte on held-out Polish text (`bielik.evaluation.grammar`); the
figures' names come from `bielik.evaluation.harness` (`average_name`, `bits_name`), the names the chapters record.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bielik.book import figures
from bielik.report import figure_names

SUPPORTED, NOT_SUPPORTED, UNTESTABLE, NOT_RUN = ("supported", "not supported", "not testable at this scale",
                                                 "not run yet")
# Every effect is judged against the spread that second seeds measured (chapters 04-06, bielik.training.seeds): it
# counts when it is larger than twice that spread. Held-out losses and DPO-P's figures have their chapter's own
# seeds; harness averages and bits per byte of any stage are judged against the pretrained model's seeds (chapter 04).
HARNESS, BITS, LOSS, OTHER = "leaderboard tasks", "bits per byte", "held-out loss", "its own figure"


class Missing(KeyError):
    pass


@dataclass(frozen=True)
class Claim:
    claim: str
    source: str  # where the report (or the work it follows) says it
    paper: str  # the report's figure, as the report gives it
    chapter: str  # the chapter that measures ours
    judge: Callable[["Figures"], tuple]  # -> (our figure, verdict) or (our figure, verdict, the yardstick it used)
    yardstick: str = HARNESS  # what decides the verdict unless the judge says otherwise


class Figures:
    """Recorded figures of a run, by chapter and name."""

    def __init__(self, run: Path):
        self.run = Path(run)

    def __call__(self, chapter: str, name: str):
        try:
            return figures.get(self.run, chapter, name)
        except KeyError as e:
            raise Missing(str(e)) from None


def at_baseline(score: float, noise: float | None) -> bool:
    """A normalised harness average no better than the constant answer by more than twice its noise (`noise`,
    `_points_noise`; none measured: by anything): no task skill. Below it counts as at it."""
    return score <= 2 * (noise or 0.0)


def optional(f: Figures, chapter: str, name: str) -> float | None:
    """A figure that may rightly be absent, or None: a spread that second seeds measured (absent where the chapter
    ran one seed, `seeds` 1, as at full), the base's pretraining tokens (absent for a base from the hub)."""
    try:
        return f(chapter, name)
    except Missing:
        return None


SEEDS = "seeds' spread"
# a harness average's noise: the seeds' spread or lm-eval's standard error of the average, whichever is larger
POINTS = "noise (the larger of the seeds' spread and lm-eval's standard error)"


def against_seeds(value: float, noise: float | None, unit: str, better_if_negative: bool = True,
                  label: str = SEEDS) -> tuple[str, str]:
    """An effect judged against the seeds' spread: supported when it has the predicted sign and is larger than twice
    the spread, not supported when it is that large the other way, otherwise not testable."""
    text = f"{value:+.4f} {unit}"
    if noise is None:
        return text + " (one seed: no measured noise)", UNTESTABLE
    text += f" against a {label} of {noise:.4f}"
    if abs(value) <= 2 * noise:
        return text + " (within twice it)", UNTESTABLE
    good = value < 0 if better_if_negative else value > 0
    return text, SUPPORTED if good else NOT_SUPPORTED


def _pretraining_noise(f: Figures) -> float | None:
    return optional(f, "04_pretraining", figure_names.seed_spread())


def _points_noise(f: Figures) -> float | None:
    """The larger of the pretrained model's seed spread and lm-eval's standard error of its average (which
    exists with one seed, and keeps two seeds that answer alike from calling the noise 0); None if neither."""
    found = [v for v in (optional(f, "04_pretraining", figure_names.AVERAGE_SPREAD),
                         optional(f, "04_pretraining", figure_names.AVERAGE_STDERR)) if v is not None]
    return max(found) if found else None


def _bits_noise(f: Figures) -> float | None:
    return optional(f, "04_pretraining", figure_names.BITS_SPREAD)


def no_better_than_unigram(f: Figures, chapter: str, bits: float, noise: float | None) -> str | None:
    """Why bits per byte cannot judge what a model keeps, or None when it can: a model no better than a unigram
    model of its tokenizer (by more than twice the noise) has learned nothing beyond token frequencies to keep or
    to lose. Runs recorded before the floor existed are judged without it."""
    floor = optional(f, chapter, figure_names.UNIGRAM_BITS)
    if floor is None or bits < floor - 2 * (noise or 0.0):
        return None
    return f"{bits:.4f} bits/byte, no better than a unigram model's {floor:.4f}: nothing beyond token frequencies"


def parameters(f: Figures):
    n = f("03_upscaling", figure_names.FULL_UPSCALED_PARAMETERS)
    return f"{n:,} parameters from the configuration", SUPPORTED if abs(n / 1e9 - 11.17) < 0.005 else NOT_SUPPORTED


def upscaling_starts_worse(f: Figures):
    d = f("04_pretraining", figure_names.UPSCALED_START_MINUS_BASE)
    return against_seeds(d, _pretraining_noise(f), "nats/token vs the base", better_if_negative=False)


def upscaling_recovers(f: Figures):
    if upscaling_starts_worse(f)[1] != SUPPORTED:
        return "no drop after stacking beyond the seeds' noise: nothing to recover from", UNTESTABLE
    tokens = f("04_pretraining", figure_names.RECOVERY_TOKENS)
    budget = f("04_pretraining", figure_names.PRETRAINING_TOKENS)
    if tokens < 0:
        return f"not below its base within {budget:,} tokens", NOT_SUPPORTED
    return f"below its base after {tokens:,} of {budget:,} tokens ({tokens / budget:.0%})", SUPPORTED


def upscaling_beats_scratch(f: Figures):
    # SOLAR's claim is about saved compute: the up-scaled model's base was trained before chapter 04 (chapter 03),
    # the scratch model only in it. A lead bought with those extra tokens does not show the claim; a loss despite
    # them does refute it here.
    text, verdict = against_seeds(f("04_pretraining", figure_names.upscaled_minus_scratch()), _pretraining_noise(f),
                                  "nats/token (Polish, vs scratch)")
    base = optional(f, "03_upscaling", figure_names.BASE_PRETRAINING_TOKENS)  # None: a base from the hub (full)
    share = optional(f, "04_pretraining", figure_names.SCRATCH_COMPUTE_SHARE)
    if share is not None:
        text += f"; scratch had {share:.0%} of the up-scaled model's total compute"
    if verdict == SUPPORTED and base and (share is None or share < 0.99):
        budget = f("04_pretraining", figure_names.PRETRAINING_TOKENS)
        return (text + f"; its base saw {base:,} tokens before these {budget:,}, which scratch never did: "
                "not equal compute"), UNTESTABLE
    return text, verdict


def filter_helps(f: Figures):
    return against_seeds(f("04_pretraining", figure_names.FILTERED_MINUS_UNFILTERED), _pretraining_noise(f),
                         "nats/token (vs unfiltered)")


def classifier_accuracy(f: Figures):
    # our labels are made by our own rules and synthetic damage: an accuracy on them says how well XGBoost learns
    # those rules, not how good the report's classifier is; only a human-labelled set could decide that
    acc = f("01_data", figure_names.TEST_ACCURACY)
    return f"{acc:.3f} on our rule-and-damage labels (no human-labelled set)", UNTESTABLE


def wicel_helps(f: Figures):
    return against_seeds(f("05_sft", figure_names.WICEL_MINUS_CE),
                         optional(f, "05_sft", figure_names.answer_loss_spread("ce")), "nats/token (WICEL - CE)")


def pipeline_raises_score(f: Figures):
    start = f("04_pretraining", figure_names.average("pretrained", 0))
    for chapter, stage in (("07_merging", "merged"), ("06_dpo", "dpo-p"), ("05_sft", "sft-wicel_alr")):
        try:
            end = f(chapter, figure_names.average(stage, 0))
            break
        except Missing:
            continue
    else:
        raise Missing("no post-training stage scored yet")
    noise = _points_noise(f)
    text = f"{start:+.1f} -> {end:+.1f} ({stage})"
    if at_baseline(start, noise) and at_baseline(end, noise):
        # a move between two scores below the constant answer is no task skill at either end; the yardsticks a
        # small model can move (grammar, bits per byte) measure language, not the tasks this claim is about
        return text + ": both at or below the constant answer", UNTESTABLE
    moved, verdict = against_seeds(max(end, 0) - max(start, 0), noise, "points", better_if_negative=False,
                                   label=POINTS)
    return f"{text}: {moved}", verdict


def dpop_keeps_chosen(f: Figures):
    # the claim is a contrast: plain DPO lowers the chosen answer's likelihood and DPO-P does not
    dpop = f("06_dpo", figure_names.chosen_change("dpo-p"))
    dpo = f("06_dpo", figure_names.chosen_change("dpo"))
    noise = optional(f, "06_dpo", figure_names.dpop_spread("chosen_logp_change"))
    text = f"held-out chosen log-prob change: DPO-P {dpop:+.2f}, DPO {dpo:+.2f} nats"
    if noise is None:
        return text + " (one seed: no measured noise)", UNTESTABLE
    text += f"; DPO-P's seeds' spread {noise:.2f}"
    if dpo >= -2 * noise:
        return text + " (plain DPO did not lower it beyond twice that)", UNTESTABLE
    return text, SUPPORTED if dpop >= -2 * noise else NOT_SUPPORTED


def _at_least_as_good(text: str, loss: float, noise: float | None, label: str = SEEDS) -> tuple[str, str]:
    """`loss`: how much worse the merge is than its best part (positive: worse); a tie within twice the noise
    (`label` says which) counts as "as good"."""
    if noise is None:
        return text + " (one seed: no measured noise)", UNTESTABLE
    text += f", {label} {noise:.4f}"
    return text, SUPPORTED if loss <= 2 * noise else NOT_SUPPORTED


def merge_as_good(f: Figures):
    best = f("07_merging", figure_names.BEST_PART_AVERAGE)
    noise = _points_noise(f)
    if at_baseline(best, noise):
        # parts without task skill: compare how well each models held-out Polish text instead
        merged, part = f("07_merging", figure_names.bits("merged")), f("07_merging", figure_names.BEST_PART_BITS)
        if floor := no_better_than_unigram(f, "07_merging", part, _bits_noise(f)):
            return f"best part {floor}", UNTESTABLE, BITS
        text = f"merged {merged:.4f} vs best part {part:.4f} bits/byte (the parts sit at the tasks' baselines)"
        return *_at_least_as_good(text, merged - part, _bits_noise(f)), BITS
    merged = f("07_merging", figure_names.average("merged", 0))
    return _at_least_as_good(f"merged {merged:+.1f} vs best part {best:+.1f} points", best - merged, noise, POINTS)


def _retention(fmt: str, paper: float):
    """A quantized file keeps the report's share `paper` of the 16-bit file's score, the tolerance twice the measured
    noise (not a typed one): on the harness when the 16-bit file has task skill, else on bits per byte."""
    stage = fmt  # chapter 08 records a GGUF file under its format's name ("F16" as "f16")

    def judge(f: Figures):
        f16 = f("08_quantization", figure_names.average("f16", 0))
        points = _points_noise(f)
        if at_baseline(f16, points):
            # a 16-bit model no better than the constant answer has no task skill to keep or lose: judge the
            # same share on how well each file models held-out Polish text, bits/byte of F16 over the file's
            ref, bits = f("08_quantization", figure_names.bits("f16")), f("08_quantization", figure_names.bits(stage))
            kept, noise = 100 * ref / bits, _bits_noise(f)
            if floor := no_better_than_unigram(f, "08_quantization", ref, noise):
                return f"the 16-bit file: {floor}", UNTESTABLE, BITS
            text = (f"{kept:.1f}% of the 16-bit file's bits per byte ({bits - ref:+.4f} bits/byte; its tasks at the "
                    "baseline)")
            if noise is None:
                return text + " (one seed: no measured noise)", UNTESTABLE, BITS
            tied = bits - ref <= 2 * noise  # no worse than the 16-bit file beyond twice the seeds' spread
            return text + f", {SEEDS} {noise:.4f}", SUPPORTED if tied or kept >= paper else NOT_SUPPORTED, BITS
        kept = f("08_quantization", figure_names.retention(fmt))
        if points is None:
            return f"{kept:.1f}% (one seed: no measured noise)", UNTESTABLE
        tolerance = 100 * 2 * points / f16  # twice the noise, as a share of the 16-bit score
        return (f"{kept:.1f}%, {POINTS} {points:.2f} points: twice it is {tolerance:.1f}% of the 16-bit score",
                SUPPORTED if kept >= paper - tolerance else NOT_SUPPORTED)
    return judge


CLAIMS = [
    Claim("Depth up-scaling Mistral 7B to 50 layers gives 11.17B parameters", "§2, Table 1", "11.17B", "03_upscaling",
          parameters, OTHER),
    Claim("The XGBoost quality classifier is accurate", "§3.1.2, Table 3", "accuracy 0.94", "01_data",
          classifier_accuracy, OTHER),
    Claim("A stacked model starts worse than its base", "§2 (after SOLAR)", "qualitative", "04_pretraining",
          upscaling_starts_worse, LOSS),
    Claim("... and recovers quickly in continued pretraining", "§2 (after SOLAR)", "qualitative", "04_pretraining",
          upscaling_recovers, LOSS),
    Claim("Up-scaling beats training the same size from scratch", "§2 (after SOLAR)", "qualitative",
          "04_pretraining", upscaling_beats_scratch, LOSS),
    Claim("Training on quality-filtered data helps", "§3.1", "qualitative (no ablation given)", "04_pretraining",
          filter_helps, LOSS),
    Claim("WICEL helps when data quality is mixed", "§4.2.3", "no ablation given", "05_sft", wicel_helps, LOSS),
    Claim("DPO-P keeps the chosen answer's likelihood from falling", "§4.4 (after Smaug)", "qualitative", "06_dpo",
          dpop_keeps_chosen, "held-out log-probabilities"),
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
            ours, verdict, *used = c.judge(f)
        except Missing:
            ours, verdict, used = "-", NOT_RUN, []
        rows.append({"claim": c.claim, "where": c.source, "the report": c.paper, "ours": ours, "verdict": verdict,
                     "decided by": used[0] if used else c.yardstick, "measured in": c.chapter})
    return rows
