import gzip
import json
from collections import Counter, defaultdict

import pytest

from bielik.data.readers import DataError, open_text, read_tsv
from bielik.posttrain import sft_data
from bielik.posttrain.sft_data import (
    ASK_BASIS,
    NOT_IN_PASSAGE,
    READERS,
    SOURCE_TIERS,
    SPEAKLEASH_SKIPPED,
    TIERS,
    build,
    check_messages,
    evaluation_index,
    inject_low_quality,
    overlaps,
    summary,
)

from conftest import ROOT

DATA = ROOT / "data"


@pytest.fixture(scope="module")
def read():
    return {name: reader(DATA) for name, reader in READERS.items()}


@pytest.fixture(scope="module")
def built():
    return build(DATA)


def users(ex):
    return [m["content"] for m in ex["messages"] if m["role"] == "user"]


def answers(ex):
    return [m["content"] for m in ex["messages"] if m["role"] == "assistant"]


def test_every_reader_gives_valid_examples(read):
    assert set(read) == set(SOURCE_TIERS)
    for name, rows in read.items():
        assert rows, name
        assert len({r["id"] for r in rows}) == len(rows), name
        for r in rows:
            assert r["source"] == name and r["tier"] == SOURCE_TIERS[name][0] and r["group"]
            check_messages(r["messages"])


def test_the_turn_check_rejects_bad_conversations():
    with pytest.raises(ValueError):
        check_messages([{"role": "user", "content": "a"}])
    with pytest.raises(ValueError):
        check_messages([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    with pytest.raises(ValueError):
        check_messages([{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}])


def test_tiers_and_weights_follow_the_table(built):
    assert {ex["source"] for ex in built} == set(SOURCE_TIERS)
    assert all(tier in TIERS and 0 < len(reason) <= 100 for tier, reason in SOURCE_TIERS.values())
    for ex in built:
        assert ex["tier"] == SOURCE_TIERS[ex["source"]][0] and ex["weight"] == TIERS[ex["tier"]]
        assert ex["split"] in ("train", "heldout")
        check_messages(ex["messages"])
    assert len({ex["id"] for ex in built}) == len(built)


def test_no_group_is_on_both_sides(built):
    splits = defaultdict(set)
    for ex in built:
        splits[(ex["source"], ex["group"])].add(ex["split"])
    assert all(len(s) == 1 for s in splits.values())
    share = Counter(ex["split"] for ex in built)["heldout"] / len(built)
    assert 0.03 < share < 0.25


def test_some_examples_open_with_the_system_message(built):
    share = sum(ex["messages"][0]["role"] == "system" for ex in built) / len(built)
    assert 0.1 < share < 0.3


def test_quiz_is_dev0_only(read):
    with open_text(DATA / "poleval2021_quiz_qa" / "test-A" / "in.tsv") as f:
        test_a = {line.rstrip("\n") for line in f}
    with open_text(DATA / "poleval2021_quiz_qa" / "dev-0" / "in.tsv") as f:
        dev = [line.rstrip("\n") for line in f]
    questions = [users(ex)[0] for ex in read["quiz"]]
    assert questions == dev and not set(questions) & test_a


def test_dyk_leaves_out_every_dev_question(read):
    dev = list(read_tsv(DATA / "klej" / "klej_dyk" / "dev.tsv.gz", 4))
    dev_ids, dev_questions = {r[0] for _, r in dev}, {r[1].strip('"').lower() for _, r in dev}
    assert not {ex["group"] for ex in read["dyk"]} & dev_ids
    assert not {users(ex)[0].lower() for ex in read["dyk"]} & dev_questions
    assert all('""' not in answers(ex)[0] for ex in read["dyk"])  # CSV quoting undone


def test_speakleash_keeps_evaluation_sets_out(read):
    index = evaluation_index(DATA)
    files = {ex["group"] for ex in read["speakleash"]}
    assert "allegro-klej-dyk_train_sample.json" not in files  # holds a question of our DYK dev set
    assert "pl_sentiment_sample.json" not in files and "sentiment_detection_sample.json" not in files  # PolEmo
    for ex in read["speakleash"]:
        assert not overlaps(index, *users(ex), *answers(ex))
    # the guard itself: a dev DYK question and a quiz test-A question are caught
    assert overlaps(index, "Odpowiedz na pytanie.\ndlaczego Heidi Krieger – mistrzyni Europy w pchnięciu kulą "
                           "z 1986 – 11 lat po tym sukcesie zmieniła imię?")
    with open_text(DATA / "poleval2021_quiz_qa" / "test-A" / "in.tsv") as f:
        assert overlaps(index, f.readline())
    assert all(reason for reason in SPEAKLEASH_SKIPPED.values())


def test_poquad_and_law_exams_have_honest_dialogues(read):
    for name in ("poquad", "law_exams"):
        assert any(len(users(ex)) > 1 for ex in read[name]), name
    for ex in read["poquad"]:
        later = users(ex)[1:]
        assert "Tekst:" in users(ex)[0] and not any("Tekst:" in u for u in later)  # passage once
    assert any(NOT_IN_PASSAGE in answers(ex) for ex in read["poquad"])
    for ex in read["law_exams"]:
        if len(users(ex)) > 1:
            assert users(ex)[1] == ASK_BASIS and answers(ex)[1].startswith("Podstawa prawna: art")
        assert answers(ex)[0].startswith("Poprawna odpowiedź: ") and "— (uchylony)" not in answers(ex)[-1]
        assert "art. 783 § 4 k.p.c." not in answers(ex)[-1]  # that paragraph was repealed after the 2012 exam
    # one poquad article never lands in both splits: its id is the group
    assert all(ex["group"].startswith("article") for ex in read["poquad"])


def test_a_malformed_gec_row_is_named(tmp_path):
    folder = tmp_path / "polish_gec_ermlab"
    folder.mkdir()
    good = {"document_id": 1, "sentence_id": 1, "correct": "Ala ma kota.", "incorrect": "Ala ma kot."}
    bad = {"document_id": 1, "sentence_id": 2, "incorrect": "Brak poprawki."}
    with gzip.open(folder / "human_expert_gec_dataset.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=r"human_expert_gec_dataset\.jsonl\.gz, line 2"):
        sft_data.gec(tmp_path)


def test_injected_low_quality_replaces_train_examples_only(built):
    n_train = sum(ex["split"] == "train" for ex in built)
    before = json.dumps(built)
    mixed = inject_low_quality(built, 0.25, seed=3)
    assert json.dumps(built) == before  # the input is not changed
    damaged = [(a, b) for a, b in zip(built, mixed) if b["damaged"]]
    assert len(mixed) == len(built) and [b["id"] for b in mixed] == [a["id"] for a in built]
    assert len(damaged) == round(0.25 * n_train)
    assert all(a["split"] == "train" for a, _ in damaged)
    assert all(a == {k: v for k, v in b.items() if k != "damaged"} for a, b in zip(built, mixed) if not b["damaged"])
    assert {b["damaged"] for _, b in damaged} == {"wrong answer", "truncated", "noise"}
    train_answers = defaultdict(set)
    for ex in built:
        if ex["split"] == "train":
            train_answers[ex["source"]].update(answers(ex))
    for a, b in damaged:
        assert b["tier"] == "generated" and b["weight"] == 0.5 and b["source"] == a["source"]
        assert answers(b) != answers(a) and users(b) == users(a)
        check_messages(b["messages"])
        if b["damaged"] == "wrong answer":
            assert set(answers(b)) <= train_answers[a["source"]]
    assert inject_low_quality(built, 0.25, seed=3) == mixed  # deterministic
    assert inject_low_quality(built, 0.25, seed=4) != mixed
    assert not any(ex["damaged"] for ex in inject_low_quality(built, 0.0))


def test_summary_counts_examples_and_words(built):
    table = summary(built)
    assert list(table.columns) == ["source", "tier", "split", "examples", "dialogues", "damaged", "words",
                                   "answer_words"]
    assert table["examples"].sum() == len(built)
    assert table["words"].sum() == sum(len(m["content"].split()) for ex in built for m in ex["messages"])
    assert table["answer_words"].sum() == sum(len(a.split()) for ex in built for a in answers(ex))
    assert table["dialogues"].sum() == sum(len(users(ex)) > 1 for ex in built)
    assert set(table["split"]) == {"train", "heldout"}


def test_summary_with_a_tokenizer():
    class CharTokenizer:  # one token per character, the interface of a Hugging Face tokenizer
        def __call__(self, texts, add_special_tokens=True):
            assert add_special_tokens is False
            return type("Enc", (), {"input_ids": [list(t) for t in texts]})()

    ex = {"source": "gec", "tier": "human", "split": "train", "messages": [
        {"role": "user", "content": "abc"}, {"role": "assistant", "content": "de"}]}
    table = summary([ex, {**ex, "damaged": "noise"}], tokenizer=CharTokenizer())
    assert table.to_dict("records") == [{"source": "gec", "tier": "human", "split": "train", "examples": 2,
                                         "dialogues": 0, "damaged": 1, "tokens": 10, "answer_tokens": 4}]


def test_a_limit_spreads_over_each_source():
    small = build(DATA, limit_per_source=30, sources=["law_exams", "gec", "speakleash"])
    counts = Counter(ex["source"] for ex in small)
    assert counts == {"law_exams": 30, "gec": 30, "speakleash": 30}
    assert len({ex["group"].split("-")[-1] for ex in small if ex["source"] == "law_exams"}) >= 10  # many years
    assert len({ex["group"] for ex in small if ex["source"] == "gec"}) >= 10  # many documents
    assert small == build(DATA, limit_per_source=30, sources=["law_exams", "gec", "speakleash"])
