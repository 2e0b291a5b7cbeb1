from bielik.data.cleanup import (
    anonymise,
    clean_pool,
    clean_text,
    looks_polish,
    pesel_valid,
)


def test_personal_data_becomes_placeholders():
    text = ("Pisz: jan.kowalski@example.pl, tel. +48 600 700 800 albo (22) 123 45 67. Adres: ul. Długa 5/3, "
            "00-001 Warszawa; al. Jana Pawła II 12. PESEL 44051401359. Strona https://example.pl/a?b=1.")
    out, counts = anonymise(text)
    assert "kowalski" not in out and "600 700" not in out and "123 45 67" not in out
    assert "Długa" not in out and "Pawła" not in out and "44051401359" not in out and "example.pl" not in out
    assert counts == {"email": 1, "phone": 2, "address": 2, "pesel": 1, "url": 1}
    assert out.count("<PHONE>") == 2 and "<PESEL>" in out and "<EMAIL>" in out and "<URL>" in out


def test_pesel_checksum():
    assert pesel_valid("44051401359") and not pesel_valid("44051401358")
    out, counts = anonymise("numer 12345678901 to nie PESEL")
    assert counts["pesel"] == 0 and "12345678901" in out  # an invalid checksum is left alone


def test_years_and_ordinary_numbers_stay():
    out, counts = anonymise("W roku 1918, w 3 tomach po 450 stron, za 12,50 zł.")
    assert sum(counts.values()) == 0


def test_mojibake_repaired_and_typography_kept():
    broken = "zażółć gęślą jaźń".encode("utf-8").decode("cp1252")  # 'zaÅ¼Ã³Å‚Ä‡ gÄ™Å›lÄ… jaÅºÅ„'
    fixed, counts = clean_text(broken)
    assert fixed == "zażółć gęślą jaźń"
    assert counts["encoding repaired (chars changed)"] > 0
    assert clean_text("„cytat” – ﬁnał")[0] == "„cytat” – finał"  # quotes kept, ligature repaired


def test_control_chars_page_numbers_and_spaces():
    text, counts = clean_text("Tekst\x00 strony\x07.\n\n\n\n  — 12 —  \nDalej   tekst. ")
    assert text == "Tekst strony.\n\nDalej tekst."
    assert counts["control characters removed"] == 2 and counts["page-number lines removed"] == 1


def test_pool_drops_short_foreign_and_duplicate_documents():
    pl = "To jest zwykły polski tekst, który ma sens i jest dość długi, a więc nie zostanie usunięty. " * 5
    en = "This is an ordinary English text that is long enough but is not written in Polish at all. " * 5
    docs = [{"text": pl, "lang": "pl"}, {"text": pl.upper(), "lang": "pl"}, {"text": "krótki", "lang": "pl"},
            {"text": en, "lang": "pl"}, {"text": en, "lang": "en"}]
    kept, table = clean_pool(docs, min_chars=200)
    assert [d["lang"] for d in kept] == ["pl", "en"]
    dropped = {r["step"]: r["documents changed"] for r in table if r["step"].startswith("dropped")}
    assert dropped == {"dropped: exact duplicate": 1, "dropped: shorter than 200 chars": 1, "dropped: not Polish": 1}


def test_bad_input_passes_cleanup():
    garbage = bytes(range(256)).decode("utf-8", errors="replace") * 50
    for text in ["", "   \n\t ", garbage, "a" * 5_000_000, "\ufffd" * 1000]:
        out, _ = clean_text(text)
        assert isinstance(out, str)
    assert not looks_polish(garbage) and not looks_polish("")
