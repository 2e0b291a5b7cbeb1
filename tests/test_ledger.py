"""The claims ledger (bielik.report.ledger): verdicts computed from recorded figures, against hand-set values."""
from bielik.book import figures
from bielik.report import ledger


def _verdict(run, claim_start):
    row = next(r for r in ledger.verdicts(run) if r["claim"].startswith(claim_start))
    return row["ours"], row["verdict"]


def test_nothing_recorded_is_not_run_yet(tmp_path):
    rows = ledger.verdicts(tmp_path)
    assert len(rows) == len(ledger.CLAIMS) and {r["verdict"] for r in rows} == {ledger.NOT_RUN}


def test_dpop_claim_reads_the_held_out_chosen_change(tmp_path):
    figures.record(tmp_path, "06_dpo", "dpo: chosen log-prob change", -6.1, "nats")
    figures.record(tmp_path, "06_dpo", "dpo-p: chosen log-prob change", 1.7, "nats")
    ours, verdict = _verdict(tmp_path, "DPO-P keeps")
    assert verdict == ledger.SUPPORTED and "DPO-P +1.70, DPO -6.10" in ours
    figures.record(tmp_path, "06_dpo", "dpo-p: chosen log-prob change", -0.4, "nats")  # within the noise of zero
    assert _verdict(tmp_path, "DPO-P keeps")[1] == ledger.SUPPORTED
    figures.record(tmp_path, "06_dpo", "dpo-p: chosen log-prob change", -3.0, "nats")  # fell, if less than DPO's
    assert _verdict(tmp_path, "DPO-P keeps")[1] == ledger.NOT_SUPPORTED


def test_merge_claim_allows_the_noise_of_the_harness(tmp_path):
    figures.record(tmp_path, "07_merging", "best component: harness average, 0-shot", -10.0)
    figures.record(tmp_path, "07_merging", "merged: harness average, 0-shot", -11.5)
    assert _verdict(tmp_path, "A linear merge")[1] == ledger.SUPPORTED
    figures.record(tmp_path, "07_merging", "merged: harness average, 0-shot", -12.5)
    assert _verdict(tmp_path, "A linear merge")[1] == ledger.NOT_SUPPORTED


def test_pipeline_claim_takes_the_latest_stage(tmp_path):
    figures.record(tmp_path, "04_pretraining", "pretrained: harness average, 0-shot", -9.2)
    figures.record(tmp_path, "05_sft", "sft-wicel_alr: harness average, 0-shot", -13.4)
    ours, verdict = _verdict(tmp_path, "Post-training")
    assert verdict == ledger.NOT_SUPPORTED and ours.startswith("-4.2")
    figures.record(tmp_path, "07_merging", "merged: harness average, 0-shot", -5.0)
    ours, verdict = _verdict(tmp_path, "Post-training")
    assert verdict == ledger.SUPPORTED and ours.startswith("+4.2")


def test_retention_needs_a_16_bit_score_above_the_baseline(tmp_path):
    figures.record(tmp_path, "08_quantization", "Q4_K_M: % of the 16-bit score", 98.5, "%")
    figures.record(tmp_path, "08_quantization", "f16: harness average, 0-shot", -12.7)
    ours, verdict = _verdict(tmp_path, "Q4_K_M keeps")
    assert verdict == ledger.UNTESTABLE and "at or below the baseline" in ours
    figures.record(tmp_path, "08_quantization", "f16: harness average, 0-shot", 30.0)
    assert _verdict(tmp_path, "Q4_K_M keeps")[1] == ledger.SUPPORTED
    figures.record(tmp_path, "08_quantization", "Q4_K_M: % of the 16-bit score", 90.0, "%")
    assert _verdict(tmp_path, "Q4_K_M keeps")[1] == ledger.NOT_SUPPORTED
