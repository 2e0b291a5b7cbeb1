"""Prose that is computed, not typed: the sentence helpers, and a scan of every chapter's Markdown for a number
that is neither the report's, nor a parameter, nor a fact of a format, so that a measurement typed into the text
(which another scale or seed would contradict) fails here."""
import math
import re

import pytest

from bielik.book import prose
from bielik.book.paths import repo_root
from bielik.book.sources import read_source


def test_words_for_shares():
    assert [prose.how_many(x) for x in (0, 0.05, 0.3, 0.51, 0.7, 0.95, 1)] == \
        ["none", "few", "a minority", "about half", "most", "nearly all", "all"]
    assert prose.percent(0.514) == "51%" and prose.percent(0.003) == "<1%" and prose.percent(0) == "0%"


def test_a_difference_is_judged_against_its_noise():
    assert prose.difference(0.93, 0.92, 0.02) == "within the noise"
    assert prose.difference(0.95, 0.92, 0.02) == "higher" and prose.difference(0.89, 0.92, 0.02) == "lower"
    assert prose.difference(0.5, 0.9, 0.1, higher="above", lower="below") == "below"
    assert prose.difference(0.5, 0.9, float("nan")) == "within the noise"
    assert prose.compared(0.95, 0.92, 0.02, "the report's") == "higher than the report's"
    assert prose.compared(0.93, 0.92, 0.02, "it") == "within the noise of it"


def test_standard_errors_by_hand():
    assert prose.binomial_se(0.9, 100) == pytest.approx(0.03)  # sqrt(0.09 / 100)
    # Hanley and McNeil with A = 0.7, 183 positives, 17 negatives: Q1 = 0.7 / 1.3, Q2 = 0.98 / 1.7,
    # var = (0.21 + 182 (Q1 - 0.49) + 16 (Q2 - 0.49)) / 3111 = 0.0033473
    assert prose.auc_se(0.7, 183, 17) == pytest.approx(0.057856, abs=1e-6)
    assert math.isnan(prose.auc_se(0.7, 0, 17))


# --- typed numbers --------------------------------------------------------------------------------------------

# where a number in the prose may come from: the report (bielik/report/paper.py), the presets (scales.py) and
# the file formats the book explains (llama.cpp's bits per weight)
FACT_FILES = ["bielik/report/paper.py", "bielik/book/scales.py", "bielik/deploy/gguf_files.py"]
NUMBER = re.compile(r"(?<![\w.\-/§])\d[\d,]*(?:\.\d+)?(?![\w.]*\d)")
NOT_PROSE = [
    re.compile(r"```.*?```", re.DOTALL),  # code blocks in Markdown
    re.compile(r"`[^`]*`", re.DOTALL),  # code spans, also across a line break
    re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\[.*?\\\]", re.DOTALL),  # math
    re.compile(r"\[[^\]]*\]\([^)]*\)"),  # links (their targets hold versions and ids)
    re.compile(r"arXiv:? ?\d{4}\.\d{4,5}|\b(?:19|20)\d\d[a-z]?\b"),  # citations and years
    re.compile(r"(?:§|Tables?|Figures?|App\.|chapters?|Chapter|section) ?\d[\d.,\-–]*(?: and \d+)?"),
    re.compile(r"^#.*$", re.MULTILINE),  # headings and their numbers
]


def facts() -> set[str]:
    text = "\n".join((repo_root() / f).read_text() for f in FACT_FILES)
    return {n.replace(",", "").replace("_", "") for n in re.findall(r"\d[\d,_]*(?:\.\d+)?", text)}


def typed_numbers(markdown: str, allowed: set[str]) -> list[str]:
    for pattern in NOT_PROSE:
        markdown = pattern.sub(" ", markdown)
    found = (m.group(0).rstrip(",") for m in NUMBER.finditer(markdown))
    return [n for n in found if len(n.replace(",", "")) > 1 and n.replace(",", "") not in allowed]


def test_the_scan_finds_a_typed_measurement_and_passes_the_rest():
    allowed = facts()
    text = ("The report keeps P(HIGH) > 0.9 over 41M documents (§3.1, Table 2, arXiv 2505.02410, 2025); "
            "`seed=42` and $\\log 2 = 0.693$ are not prose. Our run kept 37.5% of the pool.")
    assert typed_numbers(text, allowed) == ["37.5"]


@pytest.mark.parametrize("chapter", sorted(p.name for p in (repo_root() / "notebooks").glob("*.md")))
def test_no_measurement_is_typed_into_a_chapter(chapter):
    nb = read_source(repo_root() / "notebooks" / chapter)
    allowed = facts()
    typed = {n: cell.source.strip()[:80] for cell in nb.cells if cell.cell_type == "markdown"
             for n in typed_numbers(cell.source, allowed)}
    assert not typed, (f"{chapter}: numbers typed into the prose that no cell computed, and that are not the "
                       f"report's (bielik/report/paper.py) or a preset: {typed}. Compute the sentence in a cell "
                       f"(bielik.book.prose), or add a fact of the report to paper.py")



def test_the_noise_of_a_gap_between_two_accuracies_by_hand():
    # p = 0.5 on 100 items: se 0.05; the difference of two such has se 0.05 x sqrt 2; twice that is 0.1414
    assert prose.gap_noise(0.5, 100) == pytest.approx(0.141421, abs=1e-6)


def test_an_amount_is_singular_for_exactly_one():
    from bielik.book import prose

    assert [prose.amount(v, "point") for v in (1.0, 12.5, 100 / 12, 0.5)] == [
        "1 point", "12.5 points", "8.33 points", "0.5 points"]
