"""The book's chapters: their numbers, names and source notebooks, in pipeline order."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bielik.book.paths import repo_root


@dataclass(frozen=True)
class Chapter:
    number: str  # "04"
    slug: str  # "pretraining"
    title: str
    method: str  # what of the report it rebuilds, with the report's section
    produces: str  # the artifact later chapters read

    @property
    def id(self) -> str:
        return f"{self.number}_{self.slug}"

    def source(self, notebooks_dir: Path | None = None) -> Path:
        """The notebook papermill, Colab and the launch buttons open (generated from `text_source`)."""
        return (notebooks_dir or repo_root() / "notebooks") / f"{self.id}.ipynb"

    def text_source(self, notebooks_dir: Path | None = None) -> Path:
        """The MyST Markdown file maintainers edit (bielik.book.sources)."""
        return (notebooks_dir or repo_root() / "notebooks") / f"{self.id}.md"


CHAPTERS: list[Chapter] = [
    Chapter("00", "overview", "Overview", "the report in one page", "this map"),
    Chapter("01", "data", "Data quality", "cleanup, 150 features, XGBoost, P(HIGH) > 0.9 (§3.1)",
            "filtered corpus"),
    Chapter("02", "tokenizer", "Tokenizer", "Mistral's 32k BPE + ChatML tokens (§2)", "tokenizer"),
    Chapter("03", "upscaling", "Depth up-scaling", "n=32, m=7 -> 50 layers (§2)", "up-scaled model"),
    Chapter("04", "pretraining", "Continued pretraining", "packing, AdamW, cosine LR (§3)", "base model"),
    Chapter("05", "sft", "Supervised fine-tuning", "ChatML, WICEL, ALR (§4.1-4.3)", "SFT model"),
    Chapter("06", "dpo", "Preference tuning", "DPO-Positive, beta 0.05, lambda 2.5 (§4.4)",
            "3 DPO-P checkpoints"),
    Chapter("07", "merging", "Merging", "linear, equal weights (§4.5)", "merged model"),
    Chapter("08", "quantization", "Quantization", "GGUF Q8_0 ... Q4_K_M, imatrix (§5)", "GGUF files"),
    Chapter("09", "evaluation", "Evaluation", "Polish tasks, normalised average (§6)", "scores, claims ledger"),
]


def get_chapter(key: str) -> Chapter:
    """A chapter by number ("04", "4") or id ("04_pretraining")."""
    for ch in CHAPTERS:
        if key in (ch.number, ch.id) or (key.isdigit() and int(key) == int(ch.number)):
            return ch
    raise KeyError(f"no chapter {key!r}: the chapters are "
                   + ", ".join(f"{c.number} ({c.title})" for c in CHAPTERS))


def available(notebooks_dir: Path | None = None) -> list[Chapter]:
    """The chapters whose source notebook exists, in order. A notebook the registry does not know is an error."""
    folder = notebooks_dir or repo_root() / "notebooks"
    known = {ch.id for ch in CHAPTERS}
    stray = sorted(p.name for p in [*folder.glob("*.ipynb"), *folder.glob("*.md")] if p.stem not in known)
    if stray:
        raise ValueError(f"{folder}: notebooks not listed in bielik/book/chapters.py: {', '.join(stray)}")
    return [ch for ch in CHAPTERS if ch.source(folder).exists() or ch.text_source(folder).exists()]
