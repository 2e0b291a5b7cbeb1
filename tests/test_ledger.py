"""The claims ledger (bielik.report.ledger): verdicts computed from recorded figures, against hand-set values."""
import pytest

from bielik.book import figures
from bielik.evaluation import harness
from bielik.report import ledger


def _verdict(run, claim_start):
    row = next(r for r in ledger.verdicts(run) if r["claim"].startswith(claim_start))
    return row["ours"], row["verdict"]


def test_nothing_recorded_is_not_run_yet(tmp_path):
    rows = ledger.verdicts(tmp_path)
    assert len(rows) == len(ledger.CLAIMS) and {r["verdict"] for r in rows} == {ledger.NOT_RUN}


def test_every_row_says_what_decided_it(tmp_path):
    assert {r["decided by"] for r in ledger.verdicts(tmp_path)} <= {
        ledger.HARNESS, ledger.BITS, ledger.LOSS, ledger.OTHER, "held-out log-probabilities"}


def test_the_classifier_claim_is_not_testable_on_our_own_labels(tmp_path):
    figures.record(tmp_path, "01_data", "test_accuracy", 0.97)
    ours, verdict = _verdict(tmp_path, "The XGBoost")
    assert verdict == ledger.UNTESTABLE and "0.970 on our rule-and-damage labels" in ours


def test_dpop_claim_is_the_contrast_with_plain_dpo_beyond_the_seeds(tmp_path):
    figures.record(tmp_path, "06_dpo", "dpo: chosen log-prob change", -6.1, "nats")
    figures.record(tmp_path, "06_dpo", "dpo-p: chosen log-prob change", 1.7, "nats")
    ours, verdict = _verdict(tmp_path, "DPO-P keeps")
    assert verdict == ledger.UNTESTABLE and "one seed" in ours  # no second seed: no measured noise
    figures.record(tmp_path, "06_dpo", "dpo-p seed spread: chosen logp change", 0.3)
    ours, verdict = _verdict(tmp_path, "DPO-P keeps")
    assert verdict == ledger.SUPPORTED and "DPO-P +1.70, DPO -6.10" in ours and "spread 0.30" in ours
    figures.record(tmp_path, "06_dpo", "dpo-p: chosen log-prob change", -0.5, "nats")  # within twice the spread
    assert _verdict(tmp_path, "DPO-P keeps")[1] == ledger.SUPPORTED
    figures.record(tmp_path, "06_dpo", "dpo-p: chosen log-prob change", -3.0, "nats")  # fell, if less than DPO's
    assert _verdict(tmp_path, "DPO-P keeps")[1] == ledger.NOT_SUPPORTED
    figures.record(tmp_path, "06_dpo", "dpo: chosen log-prob change", -0.5, "nats")  # DPO did not lower it either
    ours, verdict = _verdict(tmp_path, "DPO-P keeps")
    assert verdict == ledger.UNTESTABLE and "plain DPO did not lower it" in ours


@pytest.mark.parametrize("effect, verdict", [(-0.05, ledger.SUPPORTED), (-0.015, ledger.UNTESTABLE),
                                             (0.015, ledger.UNTESTABLE), (0.05, ledger.NOT_SUPPORTED)])
def test_gaps_of_chapter_04_are_judged_against_twice_the_seeds_spread(tmp_path, effect, verdict):
    figures.record(tmp_path, "04_pretraining", "filtered_minus_unfiltered_pl", effect)
    figures.record(tmp_path, "04_pretraining", "upscaled_minus_scratch_pl", effect)
    figures.record(tmp_path, "04_pretraining", "seed_spread_pl", 0.01)
    for claim in ("Training on quality-filtered", "Up-scaling beats"):
        ours, got = _verdict(tmp_path, claim)
        assert got == verdict and f"{effect:+.4f}" in ours and "spread of 0.0100" in ours


def test_up_scaling_beating_scratch_on_unequal_compute_shows_nothing_but_losing_does(tmp_path):
    figures.record(tmp_path, "04_pretraining", "seed_spread_pl", 0.01)
    figures.record(tmp_path, "04_pretraining", "pretraining_tokens", 307_200)
    figures.record(tmp_path, "03_upscaling", "base_pretraining_tokens", 512_000)
    figures.record(tmp_path, "04_pretraining", "upscaled_minus_scratch_pl", -0.5)
    ours, verdict = _verdict(tmp_path, "Up-scaling beats")
    assert verdict == ledger.UNTESTABLE and "its base saw 512,000 tokens before these 307,200" in ours
    figures.record(tmp_path, "04_pretraining", "scratch_compute_share", 0.42)  # scratch_budget tokens
    ours, verdict = _verdict(tmp_path, "Up-scaling beats")
    assert verdict == ledger.UNTESTABLE and "scratch had 42% of the up-scaled model's total compute" in ours
    figures.record(tmp_path, "04_pretraining", "scratch_compute_share", 1.003)  # scratch_budget compute
    ours, verdict = _verdict(tmp_path, "Up-scaling beats")
    assert verdict == ledger.SUPPORTED and "scratch had 100%" in ours
    figures.record(tmp_path, "04_pretraining", "upscaled_minus_scratch_pl", 0.5)  # worse, despite the base's tokens
    assert _verdict(tmp_path, "Up-scaling beats")[1] == ledger.NOT_SUPPORTED


def test_a_gap_without_a_second_seed_is_not_testable(tmp_path):
    figures.record(tmp_path, "05_sft", "wicel minus ce: held-out answer loss", -0.5)
    ours, verdict = _verdict(tmp_path, "WICEL helps")
    assert verdict == ledger.UNTESTABLE and "one seed" in ours
    figures.record(tmp_path, "05_sft", "ce seed spread: held-out answer loss", 0.1)
    assert _verdict(tmp_path, "WICEL helps")[1] == ledger.SUPPORTED


def test_the_start_after_stacking_is_worse_only_beyond_the_seeds_spread(tmp_path):
    figures.record(tmp_path, "04_pretraining", "seed_spread_pl", 0.02)
    figures.record(tmp_path, "04_pretraining", "upscaled_start_minus_base_pl", 0.3)
    assert _verdict(tmp_path, "A stacked model")[1] == ledger.SUPPORTED
    figures.record(tmp_path, "04_pretraining", "upscaled_start_minus_base_pl", 0.03)
    assert _verdict(tmp_path, "A stacked model")[1] == ledger.UNTESTABLE


def test_merge_claim_allows_twice_the_seeds_spread_of_the_harness(tmp_path):
    figures.record(tmp_path, "07_merging", "best component: harness average, 0-shot", 10.0)
    figures.record(tmp_path, "07_merging", "merged: harness average, 0-shot", 8.5)
    ours, verdict = _verdict(tmp_path, "A linear merge")
    assert verdict == ledger.UNTESTABLE and "one seed" in ours  # chapter 04 ran one seed: no measured noise
    figures.record(tmp_path, "04_pretraining", "pretrained seed spread: harness average, 0-shot", 1.0)
    ours, verdict = _verdict(tmp_path, "A linear merge")  # 1.5 points worse, within twice 1.0
    assert verdict == ledger.SUPPORTED and f"{ledger.POINTS} 1.0000" in ours
    figures.record(tmp_path, "07_merging", "merged: harness average, 0-shot", 7.5)  # 2.5 worse
    assert _verdict(tmp_path, "A linear merge")[1] == ledger.NOT_SUPPORTED
    figures.record(tmp_path, "07_merging", "best component: harness average, 0-shot", 1.5)  # within 2 x 1.0 of 0
    figures.record(tmp_path, "07_merging", "best component: bits per byte", 2.40)
    figures.record(tmp_path, "07_merging", harness.bits_name("merged"), 2.39)
    row = next(r for r in ledger.verdicts(tmp_path) if r["claim"].startswith("A linear merge"))
    assert row["decided by"] == ledger.BITS and "one seed" in row["ours"]  # no bits spread recorded


def test_lm_evals_standard_error_is_a_floor_under_the_seeds_spread(tmp_path):
    figures.record(tmp_path, "04_pretraining", "pretrained: harness average, 0-shot", 5.0)
    figures.record(tmp_path, "05_sft", "sft-wicel_alr: harness average, 0-shot", 9.0)
    figures.record(tmp_path, "04_pretraining", "pretrained seed spread: harness average, 0-shot", 0.0)
    ours, verdict = _verdict(tmp_path, "Post-training")  # two seeds alike: a spread of 0 would call +4 real
    assert verdict == ledger.SUPPORTED and f"{ledger.POINTS} of 0.0000" in ours
    figures.record(tmp_path, "04_pretraining", "pretrained harness average, 0-shot: standard error", 2.5)
    ours, verdict = _verdict(tmp_path, "Post-training")  # +4 is within twice 2.5
    assert verdict == ledger.UNTESTABLE and "within twice it" in ours
    figures.record(tmp_path, "04_pretraining", "pretrained: harness average, 0-shot", 6.0)
    figures.record(tmp_path, "05_sft", "sft-wicel_alr: harness average, 0-shot", 12.0)
    ours, verdict = _verdict(tmp_path, "Post-training")  # +6 against 2.5: beyond twice it
    assert verdict == ledger.SUPPORTED and f"{ledger.POINTS} of 2.5000" in ours


def test_merge_of_parts_at_the_baseline_is_judged_on_bits_per_byte(tmp_path):
    figures.record(tmp_path, "04_pretraining", "pretrained seed spread: harness average, 0-shot", 1.0)
    figures.record(tmp_path, "04_pretraining", "pretrained seed spread: bits per byte", 0.004)
    figures.record(tmp_path, "07_merging", "best component: harness average, 0-shot", -10.0)
    figures.record(tmp_path, "07_merging", "merged: harness average, 0-shot", 30.0)  # not read: no skill to merge
    figures.record(tmp_path, "07_merging", "best component: bits per byte", 2.40)
    figures.record(tmp_path, "07_merging", harness.bits_name("merged"), 2.405)
    row = next(r for r in ledger.verdicts(tmp_path) if r["claim"].startswith("A linear merge"))
    assert row["verdict"] == ledger.SUPPORTED and row["decided by"] == ledger.BITS
    assert "merged 2.4050 vs best part 2.4000 bits/byte" in row["ours"] and "spread 0.0040" in row["ours"]
    figures.record(tmp_path, "07_merging", harness.bits_name("merged"), 2.409)  # 0.009 worse: beyond 2 x 0.004
    assert _verdict(tmp_path, "A linear merge")[1] == ledger.NOT_SUPPORTED


def test_pipeline_claim_takes_the_latest_stage(tmp_path):
    figures.record(tmp_path, "04_pretraining", "pretrained seed spread: harness average, 0-shot", 1.5)
    figures.record(tmp_path, "04_pretraining", "pretrained: harness average, 0-shot", 9.2)
    figures.record(tmp_path, "05_sft", "sft-wicel_alr: harness average, 0-shot", 5.0)
    ours, verdict = _verdict(tmp_path, "Post-training")
    assert verdict == ledger.NOT_SUPPORTED and "(sft-wicel_alr): -4.2000 points" in ours
    figures.record(tmp_path, "07_merging", "merged: harness average, 0-shot", 13.4)
    ours, verdict = _verdict(tmp_path, "Post-training")
    assert verdict == ledger.SUPPORTED and "(merged): +4.2000 points" in ours
    figures.record(tmp_path, "07_merging", "merged: harness average, 0-shot", 11.9)  # +2.7, within twice 1.5
    assert _verdict(tmp_path, "Post-training")[1] == ledger.UNTESTABLE


def test_pipeline_claim_counts_a_score_below_the_baseline_as_the_baseline(tmp_path):
    figures.record(tmp_path, "04_pretraining", "pretrained: harness average, 0-shot", -21.0)
    figures.record(tmp_path, "05_sft", "sft-wicel_alr: harness average, 0-shot", -13.0)  # moved, but no skill
    ours, verdict = _verdict(tmp_path, "Post-training")
    assert verdict == ledger.UNTESTABLE and "below the constant answer" in ours
    figures.record(tmp_path, "05_sft", "sft-wicel_alr: harness average, 0-shot", 10.0)  # from "0", not from -21
    ours, verdict = _verdict(tmp_path, "Post-training")
    assert verdict == ledger.UNTESTABLE and "one seed" in ours  # skill, but no measured noise to judge the move
    figures.record(tmp_path, "04_pretraining", "pretrained seed spread: harness average, 0-shot", 2.0)
    ours, verdict = _verdict(tmp_path, "Post-training")
    assert verdict == ledger.SUPPORTED and "+10.0000 points" in ours
    figures.record(tmp_path, "05_sft", "sft-wicel_alr: harness average, 0-shot", 3.5)  # within twice the spread of 0
    ours, verdict = _verdict(tmp_path, "Post-training")
    assert verdict == ledger.UNTESTABLE and "below the constant answer" in ours


def test_retention_above_the_baseline_reads_the_score_against_twice_the_noise(tmp_path):
    figures.record(tmp_path, "08_quantization", "Q4_K_M: % of the 16-bit score", 95.0, "%")
    figures.record(tmp_path, "08_quantization", "f16: harness average, 0-shot", 30.0)
    ours, verdict = _verdict(tmp_path, "Q4_K_M keeps")
    assert verdict == ledger.UNTESTABLE and "one seed" in ours
    figures.record(tmp_path, "04_pretraining", "pretrained seed spread: harness average, 0-shot", 1.0)
    ours, verdict = _verdict(tmp_path, "Q4_K_M keeps")  # tolerance 100 x 2 x 1.0 / 30 = 6.7%: 95.0 >= 98.5 - 6.7
    assert verdict == ledger.SUPPORTED and "6.7%" in ours
    figures.record(tmp_path, "08_quantization", "Q4_K_M: % of the 16-bit score", 90.0, "%")  # below 91.8
    assert _verdict(tmp_path, "Q4_K_M keeps")[1] == ledger.NOT_SUPPORTED


def test_retention_at_the_baseline_reads_bits_per_byte_against_twice_the_bits_spread(tmp_path):
    figures.record(tmp_path, "08_quantization", "Q8_0: % of the 16-bit score", 80.0, "%")  # not read
    figures.record(tmp_path, "08_quantization", "f16: harness average, 0-shot", -12.7)
    figures.record(tmp_path, "08_quantization", harness.bits_name("f16"), 2.50)
    figures.record(tmp_path, "08_quantization", harness.bits_name("Q8_0"), 2.51)  # 99.6% of F16's, 0.01 worse
    row = next(r for r in ledger.verdicts(tmp_path) if r["claim"].startswith("Q8_0 keeps"))
    assert row["verdict"] == ledger.UNTESTABLE and row["decided by"] == ledger.BITS and "one seed" in row["ours"]
    figures.record(tmp_path, "04_pretraining", "pretrained seed spread: bits per byte", 0.006)
    row = next(r for r in ledger.verdicts(tmp_path) if r["claim"].startswith("Q8_0 keeps"))
    assert row["verdict"] == ledger.SUPPORTED and row["ours"].startswith("99.6%")  # 0.01 within 2 x 0.006
    figures.record(tmp_path, "08_quantization", harness.bits_name("Q8_0"), 2.52)  # 0.02 worse, and 99.2% < 100.1
    assert _verdict(tmp_path, "Q8_0 keeps")[1] == ledger.NOT_SUPPORTED
    figures.record(tmp_path, "08_quantization", harness.bits_name("Q4_K_M"), 2.52)  # 99.2%: above Q4_K_M's 98.5
    assert _verdict(tmp_path, "Q4_K_M keeps")[1] == ledger.SUPPORTED


def test_recovery_needs_a_drop_beyond_the_seeds_noise_first(tmp_path):
    figures.record(tmp_path, "04_pretraining", "seed_spread_pl", 0.02)
    figures.record(tmp_path, "04_pretraining", "pretraining_tokens", 6144)
    figures.record(tmp_path, "04_pretraining", "recovery_tokens_pl", 2048)
    figures.record(tmp_path, "04_pretraining", "upscaled_start_minus_base_pl", 0.03)  # within twice the spread
    ours, verdict = _verdict(tmp_path, "... and recovers")
    assert verdict == ledger.UNTESTABLE and "nothing to recover from" in ours
    figures.record(tmp_path, "04_pretraining", "upscaled_start_minus_base_pl", 0.3)
    ours, verdict = _verdict(tmp_path, "... and recovers")
    assert verdict == ledger.SUPPORTED and ours == "below its base after 2,048 of 6,144 tokens (33%)"
    figures.record(tmp_path, "04_pretraining", "recovery_tokens_pl", -1)
    assert _verdict(tmp_path, "... and recovers")[1] == ledger.NOT_SUPPORTED


def test_bits_per_byte_no_better_than_a_unigram_model_judges_no_merge_and_no_retention(tmp_path):
    from bielik.report import figure_names

    figures.record(tmp_path, "04_pretraining", "pretrained seed spread: bits per byte", 0.004)
    figures.record(tmp_path, "07_merging", "best component: harness average, 0-shot", -10.0)
    figures.record(tmp_path, "07_merging", "best component: bits per byte", 4.20)
    figures.record(tmp_path, "07_merging", harness.bits_name("merged"), 4.201)
    figures.record(tmp_path, "07_merging", figure_names.UNIGRAM_BITS, 4.205)  # 0.005 better: within 2 x 0.004
    row = next(r for r in ledger.verdicts(tmp_path) if r["claim"].startswith("A linear merge"))
    assert row["verdict"] == ledger.UNTESTABLE and row["decided by"] == ledger.BITS
    assert "no better than a unigram model's 4.2050" in row["ours"]
    figures.record(tmp_path, "07_merging", figure_names.UNIGRAM_BITS, 4.30)  # 0.1 better than frequencies alone
    assert _verdict(tmp_path, "A linear merge")[1] == ledger.SUPPORTED
    figures.record(tmp_path, "08_quantization", "f16: harness average, 0-shot", -12.7)
    figures.record(tmp_path, "08_quantization", harness.bits_name("f16"), 3.79)
    figures.record(tmp_path, "08_quantization", harness.bits_name("Q8_0"), 3.79)
    figures.record(tmp_path, "08_quantization", figure_names.UNIGRAM_BITS, 3.70)  # F16 worse than the unigram model
    ours, verdict = _verdict(tmp_path, "Q8_0 keeps")
    assert verdict == ledger.UNTESTABLE and ours.startswith("the 16-bit file: 3.7900 bits/byte, no better")
    figures.record(tmp_path, "08_quantization", figure_names.UNIGRAM_BITS, 4.00)
    assert _verdict(tmp_path, "Q8_0 keeps")[1] == ledger.SUPPORTED
