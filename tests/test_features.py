import math

import pytest

from bielik.data import features as F
from bielik.data.features import FEATURES, REPORT_NAMES, REPORT_TOP25, extract

MARKDOWN = """# Tytuł

Wstęp z [linkiem](https://example.com) i obrazkiem ![alt](img.png) oraz `kodem`.

- punkt pierwszy
- punkt drugi
1. krok
2) krok drugi

> cytat

---

| a | b |
|---|---|
| 1 | 2 |
| 3 | 4 | 5 |

| x | y |
|:-:|---|
| 1 | 2 |

```python
print(1)
```
To jest **ważne** i *kursywa*.
"""


def assert_valid(values: dict):
    assert list(values) == list(FEATURES)
    bad = {k: v for k, v in values.items() if type(v) is not float or not math.isfinite(v)}
    assert not bad


# --- the feature list ------------------------------------------------------------------------------------

def test_at_least_150_features_each_with_a_short_definition():
    assert 150 <= len(FEATURES) <= 170
    for name, definition in FEATURES.items():
        assert definition.strip() and len(definition) < 120, name
    assert set(F.FAMILY) == set(FEATURES)


def test_the_report_top25_names_are_features():
    assert len(REPORT_TOP25) == 25
    ours = [REPORT_NAMES.get(r, r) for r in REPORT_TOP25]
    assert "commas_per_sentenced" in REPORT_TOP25 and "commas_per_sentence" in ours
    assert [n for n in ours if n not in FEATURES] == []


def test_feature_table():
    table = F.feature_table()
    assert list(table["feature"]) == list(FEATURES)
    assert table["report_top25"].sum() == 25


# --- hand-computed values --------------------------------------------------------------------------------

def test_lines_sentences_and_punctuation_by_hand():
    # lines: 24 chars, blank, 7, 7 (a duplicate); sentences: 3; paragraphs: 2; words: 5 + 1 + 1
    text = "Kot i pies: razem, obok.\n\nKrótko.\nKrótko.\n"
    v = extract(text)
    assert v["average_lines"] == pytest.approx((24 + 7 + 7) / 3)
    assert v["blank_lines"] == 1.0
    assert v["blank_lines_ratio"] == pytest.approx(1 / 4)
    assert v["short_line_ratio_20"] == pytest.approx(2 / 3)
    assert v["duplicate_line_ratio"] == pytest.approx(1 / 3)
    assert v["n_sentences_log"] == pytest.approx(math.log(4))
    assert v["colons_per_sentence"] == pytest.approx(1 / 3)
    assert v["commas_per_sentence"] == pytest.approx(1 / 3)
    assert v["periods_per_sentence"] == pytest.approx(1.0)
    assert v["avg_paragraph_length"] == pytest.approx(7 / 2)
    assert v["duplicate_paragraph_ratio"] == 0.0
    assert v["line_end_punct_ratio"] == 1.0 and v["line_start_upper_ratio"] == 1.0
    # tokens Kot i pies razem obok Krótko Krótko; stop words i, razem, obok
    assert v["stop_word_ratio"] == pytest.approx(3 / 7)
    assert v["single_char_ratio"] == pytest.approx(1 / 7)
    assert v["avg_sentence_length"] == pytest.approx(7 / 3)


def test_characters_by_hand():
    assert extract("aabb")["entropy"] == pytest.approx(1.0)
    assert extract("")["entropy"] == 0.0
    v = extract("a_b>c")
    assert v["char_ratio__"] == pytest.approx(1 / 5)
    assert v["char_ratio_>"] == pytest.approx(1 / 5)
    assert v["special_chars_ratio_md"] == pytest.approx(2 / 5)
    v = extract("Ab CD")
    assert v["overall_uppercase_ratio"] == pytest.approx(3 / 5)
    assert v["letter_ratio"] == pytest.approx(4 / 5) and v["whitespace_ratio"] == pytest.approx(1 / 5)
    assert extract("zażółć")["polish_diacritics_ratio"] == pytest.approx(4 / 6)
    v = extract("a\ufffd\x00b")
    assert v["replacement_char_ratio"] == pytest.approx(1 / 4) and v["control_char_ratio"] == pytest.approx(1 / 4)
    assert extract("zaÅ¼Ã³Å‚Ä‡")["mojibake_ratio"] == pytest.approx(4 / 10)
    assert extract("Привет мир")["non_latin_letter_ratio"] == 1.0
    assert extract("ok, 😀 :) ;-) xD")["emoji_count"] == 1.0
    assert extract("ok, 😀 :) ;-) xD")["emoticons"] == 3.0


def test_words_by_hand():
    v = extract("Ala ma kota")
    assert v["avg_word_length"] == pytest.approx(3.0)
    assert v["word_len_2"] == pytest.approx(1 / 3) and v["word_len_4"] == pytest.approx(1 / 3)
    assert v["capitalized_word_ratio"] == pytest.approx(1 / 3)
    assert v["lix"] == pytest.approx(3.0) and v["rix"] == 0.0
    assert extract("Ala 123 -- ma")["non_alpha_word_fractions"] == pytest.approx(0.5)
    v = extract("NASA i ZUS. W domu iPhone.")
    assert v["all_caps_word_ratio"] == pytest.approx(2 / 6)
    assert v["capitalized_word_ratio"] == pytest.approx(1 / 6)  # 'W': one uppercase letter is capitalised
    assert v["camel_case_word_ratio"] == pytest.approx(1 / 6)
    v = extract("Pisz na jan@example.com albo wejdź na https://example.com/x teraz")
    assert v["email_count"] == 1.0 and v["url_count"] == 1.0


def test_oovs_and_pos():
    # Ala, ma, kota are in the dictionary; xyzzqwv is not
    assert extract("Ala ma kota xyzzqwv.")["oovs"] == pytest.approx(1 / 4)
    v = extract("Ala ma kota.")
    # Ala and kota: nouns only; ma: verb (mieć) or adjective (mój) -> half each
    assert v["noun_ratio"] == pytest.approx(2 / 3)
    assert v["verb_ratio"] == pytest.approx(1 / 6) and v["adj_ratio"] == pytest.approx(1 / 6)
    assert v["g_nonpast_ratio"] == pytest.approx(1 / 3)


def test_fractional_pos_sums_to_one():
    v = extract("Wczoraj wieczorem długo rozmawialiśmy z sąsiadami o nowej szkole, która powstanie obok parku.")
    classes = ["noun", "gerund", "verb", "adj", "participle", "adv", "num", "pron", "prep", "conj", "particle",
               "interj", "brev"]
    total = sum(v[f"{c}_ratio"] for c in classes) + v["other_pos_ratio"] + v["oovs"]
    assert total == pytest.approx(1.0)
    assert v["noun_ratio"] > 0 and v["g_past_ratio"] > 0 and v["g_first_person_ratio"] > 0


def test_markdown_by_hand():
    v = extract(MARKDOWN)
    expected = {"md_headings": 1, "md_bullet_items": 2, "md_ordered_items": 2, "md_links": 1, "md_images": 1,
                "md_inline_code": 1, "md_code_blocks": 1, "md_blockquotes": 1, "md_horizontal_rules": 1,
                "md_table_rows": 7, "md_tables": 2, "md_emphasis": 2, "url_count": 1}
    assert {k: v[k] for k in expected} == expected
    assert v["md_table_alignment"] == 0.5  # the first table has a 3-cell body row
    nonblank = 19
    assert v["ratio_of_bulletpoints"] == pytest.approx(2 / nonblank)
    assert v["md_code_line_ratio"] == pytest.approx(3 / 26)
    # after markup removal no '*', '|' or '#' is left to count as non-letters
    assert v["lowercase_ratio_md"] > v["letter_ratio"] - v["overall_uppercase_ratio"]


# --- robustness ------------------------------------------------------------------------------------------

EDGE_CASES = {
    "empty": "",
    "whitespace": " \n\t \n\n",
    "binary garbage": bytes(range(256)).decode("utf-8", errors="replace") * 50,
    "lone surrogate": "abc\udcff def",
    "english": "The quick brown fox jumps over the lazy dog. It was a bright cold day in April, and the clocks "
               "were striking thirteen.",
    "repeated word": "kot " * 2000,
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases_give_finite_floats(name):
    assert_valid(extract(EDGE_CASES[name]))


def test_english_is_mostly_out_of_vocabulary():
    assert extract(EDGE_CASES["english"])["oovs"] > 0.5


def test_looping_text():
    v = extract(EDGE_CASES["repeated word"])
    assert v["dup_3gram_ratio"] > 0.99 and v["dup_5gram_ratio"] > 0.99
    assert v["consecutive_duplicate_word_ratio"] > 0.99 and v["top_word_ratio"] == 1.0
    assert v["type_token_ratio"] == pytest.approx(0.01) and v["compression_ratio"] < 0.05


def test_huge_inputs_finish():
    # one 5 MB line, and inputs that would make a careless regex quadratic
    for text in (("Ala ma kota, a kot ma Alę. " * 200_000)[:5_000_000], "." * 1_000_000 + "a",
                 "[" * 1_000_000, "\n" * 1_000_000, "a" * 1_000_000, "_a " * 300_000):
        v = extract(text)
        assert_valid(v)
    assert v["n_chars_log"] == pytest.approx(math.log1p(900_000))  # size is measured on the whole text


def test_results_do_not_depend_on_the_cache():
    text = "Ala ma kota, a kot ma Alę. Zrobiłem to wczoraj."
    before = extract(text)
    F.clear_cache()
    assert extract(text) == before


def test_extract_dataset_with_two_processes_matches_extract():
    import datasets

    texts = ["Ala ma kota.", "", MARKDOWN, EDGE_CASES["english"], "kot " * 50, "Zażółć gęślą jaźń!"]
    ds = datasets.Dataset.from_dict({"text": texts, "source": [f"s{i}" for i in range(len(texts))]})
    out = F.extract_dataset(ds, num_proc=2, batch_size=2)
    assert out.column_names == ["text", "source", *FEATURES]
    assert out["source"] == ds["source"]
    for row, text in zip(out, texts):
        assert {k: row[k] for k in FEATURES} == pytest.approx(extract(text), rel=1e-12, abs=1e-12)
