import random

from bielik.data.quality_labels import (
    HEAVY,
    LIGHT,
    damage,
    encoding_lost,
    source_label,
    web_label,
)
from bielik.data.splits import split_of

ARTICLE = ("Kraków jest jednym z najstarszych miast w Polsce. Przez wieki był stolicą kraju i siedzibą królów. "
           "Dziś przyciąga turystów z całego świata, którzy odwiedzają Wawel i Rynek Główny. ") * 4


def test_source_labels():
    assert source_label({"source": "novels", "lang": "pl", "text": ""}) == "HIGH"
    assert source_label({"source": "ocr_raw", "lang": "pl", "text": ""}) == "LOW"
    assert source_label({"source": "hplt", "lang": "pl", "text": ""}) is None
    assert source_label({"source": "english", "lang": "en", "text": ""}) is None


def test_web_label_rules():
    assert web_label("Używamy plików cookies, by ułatwić korzystanie z serwisu.") == "LOW"
    menu = "Strona Główna Produkty Dachy Okna Drzwi Kontakt Forum Szkolenia Targi Wydawnictwa " * 3
    assert web_label(menu) == "LOW"
    assert web_label(ARTICLE) == "MEDIUM"


def test_damage_is_half_light_half_heavy_and_keeps_the_group():
    docs = [{"id": f"d{i}", "text": f"Rozdział {i}. " + ARTICLE, "group": f"g{i}", "source": "novels", "lang": "pl"} for i in range(16)]
    out = damage(docs, share=1.0, seed=0)
    assert len(out) == 16
    assert sum(d["label"] == "MEDIUM" for d in out) == 8 and sum(d["label"] == "LOW" for d in out) == 8
    assert {d["source"].removeprefix("synthetic: ") for d in out} == set(LIGHT) | set(HEAVY)
    assert all(d["group"] == d["id"].split("#")[0].replace("d", "g") for d in out)
    originals = {d["id"]: d["text"] for d in docs}
    assert all(d["text"] != originals[d["id"].split("#")[0]] for d in out)


def test_encoding_lost_removes_every_polish_letter():
    out = encoding_lost("zażółć gęślą jaźń", random.Random(1))
    assert not any(c in out for c in "ąćęłńóśźż") and len(out) == len("zażółć gęślą jaźń")


def test_split_is_stable_and_grouped():
    assert split_of("book7") == split_of("book7")
    counts = {s: 0 for s in ("train", "val", "test")}
    for i in range(2000):
        counts[split_of(f"g{i}")] += 1
    assert 0.6 < counts["train"] / 2000 < 0.8 and counts["test"] > 200 and counts["val"] > 200
