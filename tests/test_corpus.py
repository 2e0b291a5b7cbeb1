import gzip
import lzma

import pytest

from bielik.data.corpus import SOURCES, chunk, load_pool, read_asr, read_ocr_raw
from bielik.data.readers import DataError, read_jsonl, read_tsv

from conftest import ROOT


def test_chunks_cut_at_paragraphs_near_the_target():
    paras = [f"Akapit {i} " + "słowo " * 60 for i in range(40)]  # ~430 chars each
    pieces = chunk("\n".join(paras), target=3000, limit=6000)
    assert all(2500 < len(p) < 4500 for p in pieces[:-1])
    assert "".join(pieces).replace("\n", "") == "".join(p.strip() for p in paras)


def test_a_paragraph_longer_than_the_limit_is_cut():
    pieces = chunk("Zdanie jest tu. " * 1000, target=3000, limit=4000)
    assert max(len(p) for p in pieces) <= 4000 + 1 and len(pieces) > 3


def test_the_pool_has_every_source_with_groups():
    docs = load_pool(ROOT / "data", limit_per_source=30)
    assert {d["source"] for d in docs} == set(SOURCES)
    assert all(d["text"] and d["group"] and d["lang"] in ("pl", "en") for d in docs)
    assert len({d["id"] for d in docs}) == len(docs)
    novels = [d for d in docs if d["source"] == "novels"]
    assert len({d["group"] for d in novels}) >= 15  # the limit spreads over books


def test_ocr_raw_and_gold_pages_share_their_book_group():
    raw = list(read_ocr_raw(ROOT / "data" / "poleval2021_ocr_correction"))
    assert len(raw) == 2000 and raw[0]["group"].startswith("book") and "\n" in raw[0]["text"]


def test_hplt_batch0_carries_human_labels():
    hplt = [d for d in load_pool(ROOT / "data", sources=["hplt"]) if "hplt_unnatural" in d]
    assert len(hplt) == 200 and sum(d["hplt_unnatural"] for d in hplt) == 17  # 15 unnatural + 2 porn


def test_malformed_jsonl_names_file_and_line(tmp_path):
    p = tmp_path / "google_asr_transcripts.jsonl.gz"
    with gzip.open(p, "wt") as f:
        f.write('{"text": "dobrze"}\n{"text": "zle"\n')
    with pytest.raises(DataError, match=r"google_asr_transcripts.jsonl.gz, line 2: not valid JSON"):
        list(read_asr(tmp_path))


def test_missing_field_names_file_and_line(tmp_path):
    p = tmp_path / "google_asr_transcripts.jsonl.gz"
    with gzip.open(p, "wt") as f:
        f.write('{"text": "a"}\n{"segments": []}\n')
    with pytest.raises(DataError, match=r"line 2: no 'text' field"):
        list(read_asr(tmp_path))


def test_wrong_column_count_names_file_and_line(tmp_path):
    p = tmp_path / "in.tsv.xz"
    with lzma.open(p, "wt") as f:
        f.write("1\t2\t1900\ttext\n1\t3\tbroken row\n")
    with pytest.raises(DataError, match=r"in.tsv.xz, line 2: expected 4 tab-separated fields, found 3"):
        list(read_tsv(p, 4))


def test_invalid_utf8_becomes_replacement_characters(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_bytes(b'{"text": "za\xbf\xf3\xb3\xe6 g\xea\xb6l\xb1 ja\xbc\xf1"}\n')  # ISO-8859-2 bytes, not UTF-8
    [(n, row)] = list(read_jsonl(p))
    assert "\ufffd" in row["text"]


def test_missing_source_folder_says_so(tmp_path):
    with pytest.raises(DataError, match="novels|polish_novels_100_pd.*missing"):
        load_pool(tmp_path, sources=["novels"])
