import math
import unicodedata

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
    out = F.extract_dataset(ds, num_proc=2)
    assert out.column_names == ["text", "source", *FEATURES]
    assert out["source"] == ds["source"]
    for row, text in zip(out, texts):
        assert {k: row[k] for k in FEATURES} == pytest.approx(extract(text), rel=1e-12, abs=1e-12)


def test_feature_matrix_in_two_processes_matches_one():
    texts = ["Ala ma kota.", None, MARKDOWN, EDGE_CASES["english"], "kot " * 50, "Zażółć gęślą jaźń!"]
    one = F.feature_matrix(texts)
    assert one.shape == (len(texts), len(FEATURES))
    assert F.feature_matrix(texts, num_proc=2) == pytest.approx(one, rel=1e-12, abs=1e-12)
    assert F.feature_matrix(texts[:1], num_proc=2) == pytest.approx(one[:1], rel=1e-12, abs=1e-12)  # 1 text
    assert F.feature_matrix([], num_proc=2).shape == (0, len(FEATURES))


def test_text_shares_cut_at_the_nearest_boundary_and_leave_none_empty():
    assert F.text_shares(["a"] * 4, 2) == [(0, 2), (2, 4)]
    assert F.text_shares(["a", "a", "a" * 10], 2) == [(0, 2), (2, 3)]  # 2 | 10 is nearer to 6 | 6 than 12 | 0
    assert F.text_shares(["a" * 10, "a", "a"], 3) == [(0, 1), (1, 2), (2, 3)]  # nearest would leave one empty
    assert F.text_shares(["", "", ""], 2) == [(0, 1), (1, 3)]
    assert F.text_shares(["ab"], 1) == [(0, 1)]


# --- the reference values --------------------------------------------------------------------------------

def test_values_match_the_reference_fixture():
    """Every feature of fixed documents (Polish prose, web text, law, OCR, edge cases) as the extractor gave
    them before its speed-up (tests/data/features_reference.json), to 1e-6 absolute or relative."""
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "data" / "features_reference.json").read_text(encoding="utf-8"))
    assert ref["features"] == list(FEATURES)
    F.clear_cache()
    bad = []
    for doc in ref["documents"]:
        text = doc["text"] if "text" in doc else doc["repeat"][0] * doc["repeat"][1]
        got = extract(text)
        for name, want in zip(ref["features"], doc["values"]):
            value = got[name]
            same = (math.isnan(want) and math.isnan(value)) or abs(value - want) <= 1e-6 * max(1.0, abs(want))
            if not same:
                bad.append(f"{doc['name']}: {name} = {value!r}, reference {want!r}")
    assert not bad, f"{len(bad)} values differ from the reference:\n" + "\n".join(bad[:40])


# --- numpy stand-ins for regex passes --------------------------------------------------------------------

def _random_texts(n: int, seed: int = 7) -> list[str]:
    import random

    rng = random.Random(seed)
    pool = (list("aAąĄzZżŻxXDPpOo ") * 3 + list("  \t\n\n.,;:!?…-–—()[]\"'„”«»*_#>|`~<=^/\\@%{}&+•0123456789²½ⅰⒶΣσǅİß")
            + ["\u0301", "\u200b", "\ufffd", "\x00", "\u00a0", "\u2028", "\U00020000", "\U000F0000", "😀", "](", "```",
               "\n- ", "\n# ", "\n> ", "\n1. ", "\n---\n", "|---|", ":-)", ";D", "xD", "....", "!!!!", "aaaa", "Å¼",
               "\n[- a](b)\n", " ,", ",a", "  ", "Ala", "KOT", "iPhone", "zrobiłbym", "123abc"])
    return ["".join(rng.choice(pool) for _ in range(rng.choice([1, 3, 10, 40, 150]))) for _ in range(n)]


def _by_regex(p: str) -> dict[str, float]:
    """Features whose numpy computation stands in for a regex pass or a loop, computed the plain way."""
    div = F._div
    words, tokens, letter_words = p.split(), F._TOKEN.findall(p), F._LETTER_WORD.findall(p)
    sent_lens, no_upper, lowercase = [], 0, 0
    for s in F._SENT_SPLIT.split(p):
        m = F._LETTER.search(s)
        if m is not None:
            sent_lens.append(len(s.split()))
            no_upper += not m.group().isupper()
            lowercase += s == s.lower()
    runs = F._CHAR_RUN.findall(p)
    n_caps = sum(w.isupper() and len(w) > 1 for w in letter_words)
    n_title, n_lower = sum(map(str.istitle, letter_words)), sum(map(str.islower, letter_words))
    visible = F._strip_markdown(p)  # every pass, none skipped
    marks = sum(p.count(ch) for ch in ",.;:!?")
    return {
        "n_words_log": math.log1p(len(words)), "n_sentences_log": math.log1p(len(sent_lens)),
        "avg_sentence_length": sum(sent_lens) / len(sent_lens) if sent_lens else 0.0,
        "no_upper_start_sentence_ratio": div(no_upper, len(sent_lens)),
        "lowercase_sentence_ratio": div(lowercase, len(sent_lens)),
        "non_alpha_word_fractions": div(len(F._NO_LETTER_WORD.findall(p)), len(words)),
        "single_char_ratio": div(sum(len(w) == 1 for w in words), len(words)),
        "space_before_punct_ratio": div(len(F._SPACE_BEFORE_PUNCT.findall(p)), marks),
        "comma_no_space_ratio": div(len(F._COMMA_NO_SPACE.findall(p)), p.count(",") + p.count(";")),
        "multiple_space_ratio": div(len(F._MULTI_SPACE.findall(p)), len(words)),
        "repeated_punct_runs": float(sum(not r.isalnum() for r in runs)),
        "repeated_letter_runs": float(sum(r.isalpha() for r in runs)),
        "avg_word_length": div(sum(map(len, letter_words)), len(letter_words)),
        "all_caps_word_ratio": div(n_caps, len(letter_words)),
        "capitalized_word_ratio": div(n_title, len(letter_words)),
        "camel_case_word_ratio": div(len(letter_words) - n_lower - n_caps - n_title, len(letter_words)),
        "mixed_alnum_token_ratio": div(sum(not t.isalpha() and not t.isdigit() for t in tokens), len(tokens)),
        "mojibake_ratio": div(len(F._MOJIBAKE.findall(p)), len(p)),
        "emoticons": float(len(F._EMOTICON.findall(p)) + len(F._EMOTICON_2.findall(p))),
        "md_headings": float(len(F._MD_HEADING.findall(p))), "md_bullet_items": float(len(F._MD_BULLET.findall(p))),
        "md_ordered_items": float(len(F._MD_ORDERED.findall(p))), "md_blockquotes": float(len(F._MD_QUOTE.findall(p))),
        "md_horizontal_rules": float(len(F._MD_HR.findall(p))),
        "lowercase_ratio_md": div(sum(map(str.islower, visible)), len(visible)),
        "uppercase_ratio_md": div(sum(map(str.isupper, visible)), len(visible)),
    }


def test_numpy_stand_ins_count_what_their_patterns_count():

    for text in _random_texts(400) + [MARKDOWN, EDGE_CASES["english"], "ΟΔΟΣ'Α ǅemal İzmir ½ ² x2"]:
        p = unicodedata.normalize("NFC", text).replace("\r", "\n")
        got, want = extract(p), _by_regex(p)
        for name, value in want.items():
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), (name, p)


# --- morfeusz: one call per document, its answer read from memory -----------------------------------------

def test_batched_analysis_matches_one_call_per_token():
    import numpy as np

    tokens = "Ala ma kota zrobiłbym miałem 123 x2 ² Konstantynopolitańczykowianeczka nie by XYZ".split()
    rows, n_oov = F._token_rows(" ".join(tokens))
    each = [F._token_rows(tok, split=False) for tok in tokens]
    assert np.array_equal(rows, np.concatenate([r for r, _ in each]))
    assert n_oov.tolist() == [int(o[0]) for _, o in each]


def _row_by_definition(interps) -> tuple[list[float], int]:
    """A token's row from morfeusz's (start, end, (orth, lemma, tag, ...)) interpretations, with sets: each
    segment span that is not only punctuation is a word segment; its k distinct POS classes get 1/k each."""
    spans: dict[tuple[int, int], set[str]] = {}
    for start, end, (_, _, tag, *_) in interps:
        if tag != "sp":
            spans.setdefault((start, end), set()).add(tag)
    row, n_oov = [0.0] * F._N_COLS, 0
    for tags in spans.values() or [{"ign"}]:
        pos = {t.split(":")[0] for t in tags} - {"interp"}
        if not pos:
            continue
        row[0] += 1
        classes = {F._TAG_CLASS.get(p, "other") for p in pos}
        for c in classes:
            row[F._COL[c]] += 1 / len(classes)
        fields = set().union(*(t.split(":") for t in tags))
        for name, field in F._GRAMMAR:
            row[F._COL[name]] += field in fields
        n_oov += classes == {"oov"}
    return row, n_oov


def test_token_rows_follow_their_definition():
    """The compiled rows (feature_counts.token_rows) against the definition with sets, token by token, on words
    with one or several segments (zrobiłbym: praet + aglt + qub), ambiguous ones, numbers and unknown words."""
    words = ("Ala ma kota zrobiłbym miałem poszliśmy 123 x2 ² nie by XYZ kot psa mamy zamek byłem "
             "Konstantynopolitańczykowianeczka qwrtpz Warszawa bardzo szybko pięć piątek gdzieś").split()
    wrapper = F._morfeusz()[1]
    rows, n_oov = F._token_rows(" ".join(words))
    for word, row, oov in zip(words, rows.tolist(), n_oov.tolist()):
        want, want_oov = _row_by_definition(wrapper.analyse(word))
        assert row == pytest.approx(want, abs=1e-12), word
        assert oov == want_oov, word
    punct = F._token_rows("a.", split=False)[0][0]  # 'a' and the punctuation segment '.', which is no word
    assert punct[F._COL["segments"]] == 1


def test_string_table_finds_what_was_added_and_nothing_else():
    import random

    import numpy as np

    from bielik.data.feature_counts import StringTable

    rng = random.Random(3)
    drawn = ("".join(rng.choice("abcąż€😀") for _ in range(rng.randint(0, 6))) for _ in range(5000))
    words = list(dict.fromkeys(drawn))  # the empty string, prefixes of each other, characters above U+FFFF
    table = StringTable(4)  # grows many times
    text = "".join(words)
    cps = F._code_points(text)
    ends = np.cumsum([len(w) for w in words])
    starts = ends - [len(w) for w in words]
    half = len(words) // 2
    for lo in range(0, half, 700):  # in several calls, each growing the table
        hi = min(lo + 700, half)
        table.add(cps, starts[lo:hi], ends[lo:hi], np.arange(lo, hi))
    assert len(table) == half
    found = table.find(cps, starts, ends)
    assert found[:half].tolist() == list(range(half))
    assert (found[half:] == -1).all()
    table.add(cps, starts[:1], ends[:1], np.array([99]))  # adding again replaces the value
    assert table.find(cps, starts[:1], ends[:1]).tolist() == [99] and len(table) == half


def test_token_ranks_and_ngram_counts_match_python():
    import random

    import numpy as np

    from bielik.data import feature_counts as FC

    rng = random.Random(5)
    for _ in range(50):
        tokens = [rng.choice(["ala", "ma", "kota", "Ala", "a", "ąę", "kot"]) for _ in range(rng.randint(0, 400))]
        text = " ".join(tokens)
        cps = F._code_points(text)
        lens = np.array([len(t) for t in tokens], dtype=np.int64)
        starts = np.cumsum(lens + 1) - lens - 1
        ranks, firsts = FC.token_ranks(cps, starts, starts + lens)
        first_at: dict[str, int] = {}
        assert ranks.tolist() == [list(dict.fromkeys(tokens)).index(t) for t in tokens]
        assert firsts.tolist() == [first_at.setdefault(t, i) for i, t in enumerate(tokens) if t not in first_at]
        for n in (1, 3, 5):
            assert FC.distinct_ngrams(ranks, n) == len({tuple(ranks[i:i + n]) for i in range(len(ranks) - n + 1)})
        windows = [ranks[i:i + 100] for i in range(0, len(ranks) // 100 * 100, 100)]
        assert FC.window_types(ranks, 100) == sum(len(set(w.tolist())) for w in windows)


def test_lowercasing_a_code_point_at_a_time_is_str_lower():
    """The table lowercases every character whose lowercase is one character as str.lower does, and no
    character above the table has a lowercase; 'İ' (two characters) and 'Σ' (by context) go to Python,
    which gives the same tokens, stop words and 'nie'."""
    import numpy as np

    table = F._lower_table()
    lows = [ch.lower() for ch in map(chr, range(F._TABLE_SIZE))]
    assert all(table[c] == ord(low) for c, low in enumerate(lows) if len(low) == 1)
    assert [c for c, low in enumerate(lows) if len(low) != 1] == [ord("İ")]
    assert all(chr(c).lower() == chr(c) for c in range(F._TABLE_SIZE, 0x110000))

    for text in _random_texts(200, seed=9) + ["Nie NIE nie, a Ala ma KOTA i kota. Że ŻE"]:
        p = unicodedata.normalize("NFC", text)
        cps = F._code_points(p)
        flags = F._flags(cps)
        starts, ends = F.feature_counts.document_counts(
            cps, flags, np.array([len(p)]), F._scratch(), F._WANTED)[5:7]
        ranks, firsts = F.feature_counts.token_ranks(cps, starts, ends)
        fast = F._lowercased(p, cps, starts, ends, ranks, firsts, lambda ch: 0)
        plain = F._lowercased(p, cps, starts, ends, ranks, firsts, lambda ch: 1)  # as if 'İ' occurred
        assert fast[1:] == plain[1:]
        assert np.array_equal(fast[0][:, None] == fast[0], plain[0][:, None] == plain[0])  # the same partition


def test_reading_the_interpretations_from_memory_matches_swig(monkeypatch):
    m = F._morfeusz()[2]
    assert F._raw_layout_ok(m)  # libstdc++ layout; elsewhere the SWIG path below is taken
    interps = m.analyse("Wczoraj zrobiłbym to lepiej, miałem 2 koty.")
    assert F._raw_table(interps).tolist() == F._swig_table(interps).tolist()
    texts = [MARKDOWN, EDGE_CASES["english"], "Ala ma kota, a kot ma Alę. Zrobiłem to wczoraj."]
    F.clear_cache()
    fast = [extract(t) for t in texts]
    monkeypatch.setattr(F, "_MORFEUSZ", F._morfeusz()[:5] + (False,))  # read every field through SWIG
    F.clear_cache()
    assert [extract(t) for t in texts] == fast
    F.clear_cache()
