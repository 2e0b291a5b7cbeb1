"""The document pool of chapter 01: every source in data/ read into documents, not lines.

Each document is a dict: id, text, source, group (the book, article or file it came from, so that splits
never put two chunks of one book on both sides), lang, and origin (the source's own quality signal).
Long books are cut into document-sized chunks at paragraph boundaries.
"""
from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from bielik.data.readers import DataError, open_text, read_jsonl, read_tsv
from bielik.data.sampling import round_robin

csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # what it is, for the chapter's table
    lang: str
    origin: str  # the quality signal the source itself carries: edited / ocr / asr / web / web-annotated
    read: Callable[[Path], Iterator[dict]]


def chunk(text: str, target: int = 3000, limit: int = 6000) -> list[str]:
    """Cut text into chunks of about `target` characters at paragraph (line) boundaries.

    A paragraph longer than `limit` is cut at sentence ends, or at spaces if it has none.
    """
    chunks, cur, size = [], [], 0
    for para in _paragraphs(text, limit):
        cur.append(para)
        size += len(para) + 1
        if size >= target:
            chunks.append("\n".join(cur))
            cur, size = [], 0
    if cur:
        if chunks and size < target // 3:  # a short tail joins the previous chunk
            chunks[-1] += "\n" + "\n".join(cur)
        else:
            chunks.append("\n".join(cur))
    return chunks


def _paragraphs(text: str, limit: int) -> Iterator[str]:
    for para in text.split("\n"):
        para = para.strip()
        if not para:
            continue
        while len(para) > limit:
            cut = para.rfind(". ", 0, limit)
            cut = cut + 1 if cut > limit // 2 else para.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            yield para[:cut].strip()
            para = para[cut:].strip()
        if para:
            yield para


def _book_docs(source: str, group: str, text: str, lang: str = "pl", group_every: int = 0) -> Iterator[dict]:
    """The chunks of one text; `group_every` > 0 groups every that many consecutive chunks instead of the whole."""
    for i, piece in enumerate(chunk(text)):
        g = f"{group}/{i // group_every}" if group_every else group
        yield {"id": f"{source}/{group}/{i}", "text": piece, "source": source, "group": g, "lang": lang}


# --- readers, one per source -------------------------------------------------------------------------

def read_novels(folder: Path) -> Iterator[dict]:
    for path in sorted(folder.glob("*.txt.gz")):
        with open_text(path) as f:
            yield from _book_docs("novels", path.name.removesuffix(".txt.gz"), f.read())


WL_FOOTER = re.compile(r"\n-----\n.*", re.S)


def read_wolnelektury(folder: Path) -> Iterator[dict]:
    for path in sorted(folder.glob("*.txt.gz")):
        with open_text(path) as f:
            text = WL_FOOTER.sub("", f.read())  # the licence and credits block after the ----- line
        yield from _book_docs("wolnelektury", path.name.removesuffix(".txt.gz"), text)


def _unescape_tsv(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def _ocr_rows(folder: Path) -> Iterator[tuple[int, list[str], str]]:
    """(line, [docId, pageId, year, raw OCR], gold text) for each page of the PolEval 2021 files."""
    raw_path, gold_path = folder / "dev-0-in.tsv.xz", folder / "dev-0-expected.tsv.xz"
    raw = read_tsv(raw_path, 4)
    gold = read_tsv(gold_path, 1)
    for (n, row), (_, (out,)) in zip(raw, gold, strict=True):
        yield n, row, out


def read_ocr_raw(folder: Path) -> Iterator[dict]:
    for n, (doc, page, _year, text), _ in _ocr_rows(folder):
        yield {"id": f"ocr_raw/{doc}/{page}", "text": _unescape_tsv(text), "source": "ocr_raw",
               "group": f"book{doc}", "lang": "pl"}


def read_ocr_gold(folder: Path) -> Iterator[dict]:
    for n, (doc, page, _year, _), gold in _ocr_rows(folder):
        yield {"id": f"wikisource/{doc}/{page}", "text": _unescape_tsv(gold), "source": "wikisource",
               "group": f"book{doc}", "lang": "pl"}


def read_wikipedia(folder: Path) -> Iterator[dict]:
    path = folder / "poquad-test-A.json.gz"
    with open_text(path) as f:
        try:
            data = json.load(f)["data"]
        except (json.JSONDecodeError, KeyError) as e:
            raise DataError(f"{path}: not the SQuAD-format JSON this reader expects ({e})") from None
    for article in data:
        text = "\n".join(p["context"] for p in article["paragraphs"])
        yield from _book_docs("wikipedia", f"article{article['id']}", text)


def read_law(folder: Path) -> Iterator[dict]:
    with open_text(folder / "kodeks_cywilny.md.gz") as f:
        # one code, but its parts are separate titles: groups of ten chunks let it appear in every split
        yield from _book_docs("law", "kodeks_cywilny", f.read(), group_every=10)


def read_oscar(folder: Path) -> Iterator[dict]:
    with open_text(folder / "pl_dedup_small.txt.gz") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                yield {"id": f"oscar/{n}", "text": line.strip(), "source": "oscar", "group": f"oscar{n}",
                       "lang": "pl"}


def read_hplt(folder: Path) -> Iterator[dict]:
    """HPLT v2 snippets; batch0 carries a volunteer's labels (unnatural, porn), kept as `hplt_unnatural`."""
    for b in range(5):
        path = folder / f"batch{b}.tsv.gz"
        rows = read_tsv(path, 5, quoting=csv.QUOTE_MINIMAL)
        next(rows)  # header
        for n, (porn, unnatural, lang_ok, text, doc_id) in rows:
            doc = {"id": f"hplt/{doc_id}", "text": text, "source": "hplt", "group": f"hplt{doc_id}",
                   "lang": "pl", "hplt_batch": b}
            if b == 0:
                doc["hplt_unnatural"] = int(unnatural.strip() == "1" or porn.strip() == "1")
            yield doc


def read_asr(folder: Path) -> Iterator[dict]:
    path = folder / "google_asr_transcripts.jsonl.gz"
    for n, row in read_jsonl(path):
        if "text" not in row:
            raise DataError(f"{path}, line {n}: no 'text' field")
        name = Path(row.get("source_file", str(n))).name
        yield from _book_docs("asr", name, row["text"])


def read_english(folder: Path) -> Iterator[dict]:
    for path in sorted(folder.glob("*.txt.gz")):
        with open_text(path) as f:
            yield from _book_docs("english", path.name.removesuffix(".txt.gz"), f.read(), lang="en")
    for n, row in read_jsonl(folder / "factbook_backgrounds.jsonl.gz"):
        yield {"id": f"english/factbook/{n}", "text": row["background"], "source": "english",
               "group": "factbook", "lang": "en"}


SOURCES: dict[str, tuple[str, Source]] = {
    s.name: (folder, s) for folder, s in [
        ("polish_novels_100_pd", Source("novels", "Polish novels 1851-1939", "pl", "edited", read_novels)),
        ("wolnelektury", Source("wolnelektury", "Wolne Lektury books", "pl", "edited", read_wolnelektury)),
        ("poleval2021_ocr_correction", Source("wikisource", "Wikisource pages (corrected)", "pl", "edited",
                                              read_ocr_gold)),
        ("poquad_poleval2024", Source("wikipedia", "Wikipedia articles (PoQuAD)", "pl", "edited", read_wikipedia)),
        ("legal_kodeks_cywilny", Source("law", "Civil Code (from PDF)", "pl", "edited", read_law)),
        ("poleval2021_ocr_correction", Source("ocr_raw", "the same pages, raw OCR", "pl", "ocr", read_ocr_raw)),
        ("asr_wolnelektury_google", Source("asr", "ASR transcripts of audiobooks", "pl", "asr", read_asr)),
        ("oscar_pl_sample", Source("oscar", "OSCAR Common Crawl paragraphs", "pl", "web", read_oscar)),
        ("hplt2_pl_inspection", Source("hplt", "HPLT v2 web snippets", "pl", "web-annotated", read_hplt)),
        ("english_prose", Source("english", "English books and Factbook", "en", "edited", read_english)),
    ]
}


def load_pool(data_dir: Path, limit_per_source: int | None = None, sources: list[str] | None = None) -> list[dict]:
    """All documents of the chosen sources, each source cut to its first `limit_per_source` documents
    taken evenly across its groups (so a limit keeps many books, not the first chapters of one)."""
    docs = []
    for name in sources or list(SOURCES):
        folder, src = SOURCES[name]
        path = Path(data_dir) / folder
        if not path.is_dir():
            raise DataError(f"{path}: missing; the repository's data/ folder should hold it (see data/SOURCES.md)")
        rows = [{**d, "origin": src.origin} for d in src.read(path)]
        docs += round_robin(rows, limit_per_source) if limit_per_source else rows
    return docs
