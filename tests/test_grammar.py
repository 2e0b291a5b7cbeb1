"""The yardsticks beside the leaderboard: the grammar track's tasks and baselines, bits per byte's documents."""
import math

import pytest

from bielik.data.readers import DataError
from bielik.evaluation import grammar, harness
from bielik.evaluation import minimal_pairs as mp

from conftest import ROOT

DATA = ROOT / "data"


def test_the_track_has_one_balanced_task_per_feature_and_any_prefix_stays_balanced():
    for task, feature in grammar.TRACK.items():
        if feature == "correction":
            continue
        docs = grammar.docs(task, DATA)
        assert docs and {d["feature"] for d in docs} == {feature}
        for n in (10, 24, len(docs)):  # the harness's limit takes the first n pairs
            counts = mp.counts_by(docs[:n])
            for key, count in counts.items():
                name, direction = key.split(" ", 1)
                assert abs(count - counts.get(f"{name} {mp.reverse(direction)}", 0)) <= 1, (task, n, key)
    with pytest.raises(KeyError, match="unknown grammar task 'pl_agreement_case'"):
        grammar.docs("pl_agreement_case", DATA)


def test_corrections_come_from_documents_no_stage_trains_on():
    from bielik.data.splits import gec_for_the_track
    from bielik.posttrain import preferences, sft_data

    pairs = grammar.docs("pl_corrections", DATA)
    kept = {p["id"].split("-")[1] for p in pairs}
    assert len(pairs) >= 150 and all(p["good"] != p["bad"] for p in pairs)
    assert all(gec_for_the_track(int(d)) for d in kept)
    trained = {e["group"] for e in sft_data.gec(DATA)} | {c["group"] for c in preferences.gec(DATA)}
    assert trained and not {f"doc{d}" for d in kept} & trained and not kept & trained
    first = pairs[0]  # document 16's first changed sentence, as the file has it
    assert first["feature"] == "correction" and first["source"] == "gec"


def test_interleaving_takes_each_direction_in_turn():
    pairs = [{"feature": "number", "direction": d, "id": f"{d}{i}"} for d in ("sg->pl", "pl->sg") for i in range(3)]
    order = [p["direction"] for p in mp.interleaved(pairs)]
    assert order == ["pl->sg", "sg->pl"] * 3
    assert sorted(p["id"] for p in mp.interleaved(pairs)) == sorted(p["id"] for p in pairs)


def test_the_track_result_by_hand():
    # person: 3 of 4 right against a unigram's 2 of 4; number: 6 of 8 against 6 of 8
    results = {"pl_agreement_person": {"acc,none": 0.75}, "pl_agreement_number": {"acc,none": 0.75}}
    baselines = {"pl_agreement_person": {"accuracy": 0.5, "pairs": 4},
                 "pl_agreement_number": {"accuracy": 0.75, "pairs": 8},
                 "pl_agreement_gender": {"accuracy": 0.9, "pairs": 8}}
    r = grammar.track_result(results, baselines)
    assert r["features"]["person"] == {"accuracy": 75.0, "pairs": 4, "unigram": 50.0, "normalised": 50.0}
    assert r["features"]["number"]["normalised"] == 0.0 and "gender" not in r["features"]
    assert r["pairs"] == 12 and r["accuracy"] == pytest.approx(75.0)
    assert r["unigram"] == pytest.approx(100 * (2 + 6) / 12)  # pair-weighted: 8 of 12
    assert r["normalised"] == pytest.approx(100 * (0.75 - 8 / 12) / (1 - 8 / 12))  # 25 points
    assert grammar.normalised(0.9, 1.0) is None  # a perfect baseline leaves nothing to normalise by
    with pytest.raises(ValueError, match="no grammar task"):
        grammar.track_result({"dyk": {"acc,none": 0.5}}, baselines)


def test_the_pairs_scored_fit_the_context_and_the_baseline_scores_the_same_pairs(quiz_tokenizer, tmp_path):
    tok, _ = quiz_tokenizer
    chosen, too_long = grammar.select(tok, DATA, limit=6, max_tokens=10**6)
    assert too_long == 0 and all(p == grammar.docs(t, DATA)[:6] for t, p in chosen.items())
    tight, too_long = grammar.select(tok, DATA, limit=6, max_tokens=40)
    lengths = [len(tok(s, add_special_tokens=False)["input_ids"]) for ps in tight.values() for p in ps
               for s in (p["good"], p["bad"])]
    assert too_long > 0 and max(lengths) <= 40 and all(len(ps) <= 6 for ps in tight.values())
    path, _ = grammar.write_pairs(tight, tmp_path / "pairs.jsonl")
    assert [grammar.chosen_docs(t, path) for t in grammar.TRACK] == [
        [{"task": t, **p} for p in tight[t]] for t in grammar.TRACK]
    texts = ["Kot śpi. Dzieci bawiły się. Ona była zmęczona."] * 10
    b = grammar.unigram_baselines(tok, texts, tight)
    for task, r in b.items():
        assert r == mp.unigram_accuracy(tight[task], tok, mp.token_counts(tok, texts))


def test_heldout_sample_keeps_whole_documents_up_to_the_bytes():
    texts = ["ąę" * 10, "a" * 30, "b" * 30]  # 40, 30, 30 bytes of UTF-8
    assert grammar.heldout_sample(texts, 70) == texts[:2]
    assert grammar.heldout_sample(texts, 69) == texts[:1]
    assert grammar.heldout_sample(texts, 5) == texts[:1]  # never empty


def test_heldout_documents_are_written_read_and_named_when_wrong(tmp_path):
    path, digest = grammar.write_heldout(["Ala ma kota.", "Kot ma Alę."], tmp_path / "h.jsonl")
    assert grammar.heldout_docs(path) == [{"text": "Ala ma kota."}, {"text": "Kot ma Alę."}]
    assert digest == grammar.write_heldout(["Ala ma kota.", "Kot ma Alę."], tmp_path / "again.jsonl")[1]
    path.write_text('{"text": "Ala"}\n{"text": ""}\n')
    with pytest.raises(DataError, match=r"h.jsonl, line 2: a held-out document needs a non-empty 'text'"):
        grammar.heldout_docs(path)
    with pytest.raises(DataError, match="heldout_texts"):
        grammar.heldout_docs(None)


def test_the_yardstick_tasks_parse_with_lm_eval(tmp_path):
    path, _ = grammar.write_heldout(["Ala ma kota, a kot ma Alę."], tmp_path / "h.jsonl")
    tasks = harness.task_manager(DATA, path).load([*grammar.TRACK, grammar.HELDOUT_TASK])["tasks"]
    for name in grammar.TRACK:
        task = tasks[name]
        assert task.config.num_fewshot == 0 and task.config.output_type == "multiple_choice"
        doc = task.test_docs()[0]
        assert task.doc_to_text(doc) == "" and task.doc_to_choice(doc) == [doc["good"], doc["bad"]]
    held = tasks[grammar.HELDOUT_TASK]
    assert held.config.output_type == "loglikelihood_rolling"
    doc = held.test_docs()[0]
    assert held.doc_to_target(doc) == "Ala ma kota, a kot ma Alę."
    # lm-eval's own bits per byte: -sum log p / bytes / ln 2, from the summed log-likelihood of the document
    scored = held.process_results(doc, [-20.0])
    (ll, n), = [scored["bits_per_byte"]]
    assert n == len("Ala ma kota, a kot ma Alę.".encode()) and ll == -20.0
    from lm_eval.api.metrics import bits_per_byte
    assert bits_per_byte([(ll, n)]) == pytest.approx(20 / n / math.log(2))
