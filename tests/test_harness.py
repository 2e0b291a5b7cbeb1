"""The evaluation harness: metrics against hand computations, the real lm-eval run on a tiny model, bad input."""
import gzip
import shutil

import pytest

import bielik
from bielik.book import figures
from bielik.data.readers import DataError
from bielik.evaluation import harness
from bielik.evaluation import polish_tasks as E
from bielik.model import storage
from bielik.model.storage import NotAModel
from bielik.report import figure_names

from conftest import ROOT, tiny_mistral

DATA = ROOT / "data"
TEXT = ["Ala ma kota, a kot ma Alę. " * 20] * 4
UNIGRAM = ["Kot śpi, a dzieci bawiły się w ogrodzie. Ona była zmęczona."] * 20  # the unigram baseline's counts


def test_normalisation_is_the_leaderboards():
    # (s - b) / (1 - b) x 100: the baseline scores 0, a perfect model 100, worse than baseline is negative
    assert E.normalise(0.368, 0.368) == 0
    assert E.normalise(1.0, 0.368) == pytest.approx(100)
    assert E.normalise(0.684, 0.368) == pytest.approx(50)
    assert E.normalise(0.2, 0.5) == pytest.approx(-60)


def test_the_averages_standard_error_by_hand():
    rows = [{"task": "a", "shots": 0, "normalised stderr": 3.0}, {"task": "b", "shots": 0, "normalised stderr": 4.0},
            {"task": "c", "shots": 0, "normalised stderr": None}, {"task": "a", "shots": 5, "normalised stderr": 9.0}]
    # sqrt(3^2 + 4^2) / 3 tasks; c has none, so the figure is a lower bound and c is named
    assert harness.average_stderr(rows, 0) == (pytest.approx(5 / 3), ["c"])
    assert harness.average_stderr(rows, 5) == (pytest.approx(9.0), [])
    assert harness.average_stderr(rows[2:3], 0) == (None, ["c"])


def test_f1_and_constant_baselines_by_hand():
    gold, pred = [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]
    # tp 2, fp 1, fn 1 -> 4 / 6
    assert E.binary_f1(gold, pred) == pytest.approx(2 / 3)
    # class 0: tp 1, fp 1, fn 1 -> 1/2; class 1: 2/3
    assert E.macro_f1(gold, pred) == pytest.approx((0.5 + 2 / 3) / 2)
    dyk = E.TASKS["dyk"]
    # always "Tak" on 1 positive of 4: F1 = 2 / (2 + 3)
    assert E.baseline(dyk, [1, 0, 0, 0]) == pytest.approx(0.4)
    assert E.baseline(E.TASKS["ppc"], [0, 2, 2, 1]) == pytest.approx(0.5)  # majority class 2
    assert E.baseline(E.TASKS["quiz_qa"]) == 0.0


def test_levenshtein_similarity_by_hand():
    assert E.levenshtein("kot", "kit") == 1
    assert E.levenshtein("", "abc") == 3
    assert E.similarity("Warszawa.", " warszawa") == 1.0
    assert E.similarity("Kraków", "Krakowa") == pytest.approx(1 - 2 / 7)
    s = E.answer_scores("we Francji\nPytanie: ...", ["Francja", "we Francji"])
    assert s == {"exact_match": 1.0, "levenshtein": 1.0}


@pytest.mark.parametrize("name", list(E.TASKS))
def test_every_task_reads_its_shipped_data(name):
    test, fewshot = E.docs(name, DATA)
    assert len(test) >= 400 and len(fewshot) >= 5
    task = E.TASKS[name]
    if task.kind == "multiple_choice":
        assert {d["label"] for d in test} <= set(range(len(task.labels)))
        assert len({d["label"] for d in test}) > 1  # shuffled, so the first N are not one class


def test_quiz_evaluation_never_uses_the_training_questions():
    test, fewshot = E.docs("quiz_qa", DATA)
    train_questions = set((ROOT / "data/poleval2021_quiz_qa/dev-0/in.tsv").read_text().splitlines())
    assert not {d["question"] for d in test} & train_questions
    assert {d["question"] for d in fewshot} <= train_questions


def test_a_broken_row_is_named_with_its_file_and_line(tmp_path):
    shutil.copytree(DATA / "klej", tmp_path / "klej")
    path = tmp_path / "klej/klej_cbd/dev.tsv.gz"
    lines = gzip.open(path, "rt", encoding="utf-8").read().splitlines()
    lines[6] = "a tweet without its label"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    with pytest.raises(DataError, match=r"klej_cbd/dev.tsv.gz, line 7: expected 2 tab-separated fields"):
        E.docs("cbd", tmp_path)
    lines[6] = "a tweet\tmaybe"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    with pytest.raises(DataError, match=r"line 7: unknown label 'maybe'"):
        E.docs("cbd", tmp_path)


def test_unknown_task_is_named():
    with pytest.raises(KeyError, match="unknown task.*polemo2_in"):
        harness.run_tasks(lm=None, tasks=["polemo2_in"])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, quiz_tokenizer):
    """A 1-layer Mistral with a SentencePiece tokenizer trained on the quiz questions: untrained, but real."""
    from bielik.model.storage import save_model

    root = tmp_path_factory.mktemp("harness")
    tok, info = quiz_tokenizer
    model = tiny_mistral(info["padded_vocab_size"])
    return save_model(model, root / "model", tok)


@pytest.mark.slow
def test_a_model_is_scored_through_lm_eval_and_recorded(tmp_path, model_dir, capfd):
    ch = bielik.start("09", scale="ci", run_dir=str(tmp_path / "runs"))
    result = harness.evaluate(ch, model_dir, "untrained", tasks=["dyk", "quiz_qa"], shots=(0, 5), limit=6,
                              heldout_texts=TEXT, heldout_rows=2, unigram_texts=UNIGRAM)
    rows = {(r["task"], r["shots"]): r for r in result["rows"]}
    assert set(rows) == {("dyk", 0), ("dyk", 5), ("quiz_qa", 0), ("quiz_qa", 5)}
    for r in rows.values():
        assert 0 <= r["score"] <= 100
        assert r["normalised"] == pytest.approx(E.normalise(r["score"] / 100, r["baseline"] / 100))
    assert result["average"]["0"] == pytest.approx((rows["dyk", 0]["normalised"] + rows["quiz_qa", 0]["normalised"]) / 2)
    assert result["perplexity"] > 1
    # lm-eval's closed-form standard error for quiz_qa's mean similarity, none for dyk's F1
    assert rows["dyk", 0]["normalised stderr"] is None and result["tasks_without_stderr"] == ["dyk"]
    se = rows["quiz_qa", 0]["normalised stderr"]
    assert se >= 0 and result["average_stderr"]["0"] == pytest.approx(se / 2)
    assert harness.stages(ch.run)[0]["stage"] == "untrained"  # chapter 09 finds it
    recorded = harness.recorded_average(ch.run, ch.chapter.id, "untrained", 0)
    assert recorded == pytest.approx(result["average"]["0"], abs=0.01)
    # the yardsticks: ci's pairs per grammar task (fewer where a feature has fewer), out of the average
    y = result["yardsticks"]
    track = y["grammar"]
    assert set(track["features"]) == {"person", "number", "gender", "correction"}
    assert all(0 < f["pairs"] <= 24 for f in track["features"].values())
    assert track["pairs"] == sum(f["pairs"] for f in track["features"].values())
    assert 0 <= track["accuracy"] <= 100 and 0 <= track["unigram"] <= 100
    assert "pl_agreement_number" not in {r["task"] for r in result["rows"]}
    # bits per byte: all four documents fit ci's 6,000 bytes; an untrained model is near log2(vocabulary) bits a
    # token, so above a bit per byte
    assert y["bits"]["documents"] == 4 and y["bits"]["bytes"] == 4 * len(TEXT[0].encode())
    assert 1 < y["bits"]["bits_per_byte"] < 20
    # the floor it is read against: a unigram model of the same tokenizer on the same text, by its own formula
    from bielik.evaluation import minimal_pairs
    tok = storage.load_tokenizer(model_dir)
    assert y["bits"]["unigram"] == pytest.approx(minimal_pairs.unigram_bits_per_byte(
        tok, minimal_pairs.token_counts(tok, UNIGRAM), TEXT))
    assert figures.get(ch.run, ch.chapter.id, figure_names.UNIGRAM_BITS) == pytest.approx(y["bits"]["unigram"],
                                                                                         abs=1e-4)
    assert figures.get(ch.run, ch.chapter.id, harness.bits_name("untrained")) == pytest.approx(
        y["bits"]["bits_per_byte"], abs=1e-4)
    assert figures.get(ch.run, ch.chapter.id, harness.grammar_name("untrained", "accuracy")) == pytest.approx(
        track["accuracy"], abs=0.01)
    table = harness.yardstick_table(result)
    assert list(table.index) == ["untrained"] and table.loc["untrained", "bits/byte"] == y["bits"]["bits_per_byte"]
    # no progress bar reaches a chapter's page (lm-eval's rolling log-likelihood asks for one whatever it is told)
    assert "Running loglikelihood requests" not in capfd.readouterr().err


@pytest.mark.slow
def test_chapter_09_reuses_what_a_chapter_scored_on_the_same_weights(tmp_path, model_dir):
    import shutil

    from bielik.model.architecture import mistral_config, new_model
    from bielik.model.storage import load_tokenizer, save_model

    run = str(tmp_path / "runs")
    first = harness.evaluate(bielik.start("06", scale="ci", run_dir=run), model_dir, "dpo-p", tasks=["dyk"],
                             shots=(0,), limit=6, unigram_texts=UNIGRAM)
    copy = shutil.copytree(model_dir, tmp_path / "copy")  # chapter 06 evaluates dpo-p/ and hands on model/
    ch = bielik.start("09", scale="ci", run_dir=run)
    again = harness.evaluate(ch, copy, "dpo-p", tasks=["dyk"], shots=(0, 5), limit=6, reuse=True,
                             unigram_texts=UNIGRAM)
    assert again["reused_shots"] == [0] and again["fingerprint"] == first["fingerprint"]
    assert again["reused_yardsticks"] and again["yardsticks"] == first["yardsticks"]
    assert [r for r in again["rows"] if r["shots"] == 0] == first["rows"]
    assert {r["shots"] for r in again["rows"]} == {0, 5}
    # other documents, or other weights: scored afresh
    assert harness.evaluate(ch, copy, "dpo-p", tasks=["dyk"], shots=(0,), limit=5, reuse=True,
                            unigram_texts=UNIGRAM)["reused_shots"] == []
    other = save_model(new_model(mistral_config(first_vocab(model_dir), 256, 256, 1, 4, 2, 256), seed=1),
                       tmp_path / "other", load_tokenizer(model_dir))
    fresh = harness.evaluate(ch, other, "x", tasks=["dyk"], shots=(0,), limit=6, reuse=True, unigram_texts=UNIGRAM)
    assert fresh["reused_shots"] == [] and not fresh["reused_yardsticks"]


def first_vocab(model_dir):
    import json

    return json.loads((model_dir / "config.json").read_text())["vocab_size"]


def test_a_folder_that_is_not_a_model_is_refused(tmp_path):
    ch = bielik.start("09", scale="ci", run_dir=str(tmp_path / "runs"))
    (tmp_path / "notes").mkdir()
    with pytest.raises(NotAModel, match="no config.json"):
        harness.evaluate(ch, tmp_path / "notes", "broken")


@pytest.mark.slow
def test_a_broken_task_file_stops_the_harness_with_its_name(tmp_path, model_dir):
    shutil.copytree(DATA / "klej", tmp_path / "klej")
    path = tmp_path / "klej/klej_dyk/dev.tsv.gz"
    lines = gzip.open(path, "rt", encoding="utf-8").read().splitlines()
    lines[2] = "czywiesz1\tpytanie bez odpowiedzi"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    ch = bielik.start("09", scale="ci", run_dir=str(tmp_path / "runs"))
    with pytest.raises(DataError, match=r"klej_dyk/dev.tsv.gz, line 3"):
        harness.evaluate(ch, model_dir, "x", tasks=["dyk"], shots=(0,), limit=4, data_dir=tmp_path,
                         unigram_texts=UNIGRAM)


def test_training_data_leaves_out_the_evaluation_questions():
    from bielik.data.readers import dyk_eval_ids
    from bielik.posttrain import preferences, sft_data

    held = dyk_eval_ids(DATA)  # KLEJ's DYK train and dev share questions: 398 of dev's 409
    assert held and not held & {e["group"] for e in sft_data.dyk(DATA)}
    assert not held & {c["group"] for c in preferences.dyk(DATA)}
    quiz_test = set((DATA / "poleval2021_quiz_qa/test-A/in.tsv").read_text().splitlines())
    assert not quiz_test & {e["messages"][0]["content"] for e in sft_data.quiz(DATA)}


def test_pivot_is_a_task_by_stage_table():
    rows = lambda base: [{"task": t, "shots": k, "normalised": base + i + k, "score": 50.0}  # noqa: E731
                         for i, t in enumerate(["dyk", "ppc"]) for k in (0, 5)]
    results = [{"stage": "sft", "rows": rows(10)}, {"stage": "base", "rows": rows(0)}]
    t = harness.pivot(results, shots=0, average=True)
    assert list(t.columns) == ["sft", "base"] and list(t.index) == ["dyk", "ppc", "average"]
    assert t.loc["ppc", "base"] == 1 and t.loc["average", "sft"] == 10.5
    assert list(harness.pivot(results, shots=5, order=["base", "sft"]).columns) == ["base", "sft"]
    with pytest.raises(ValueError, match="say which with shots="):
        harness.pivot(results)
