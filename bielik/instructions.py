"""Polish instructions as ChatML conversations. Chapter 04 mixes them into pretraining, as the report does;
chapter 05 builds the full instruction set from here.

PolEval 2021 quiz questions: dev-0 (1,000) is for training; test-A stays held out for evaluation.
"""
from __future__ import annotations

from pathlib import Path

from bielik.corpus import DataError, open_text


def quiz_qa(folder: Path, split: str = "dev-0") -> list[list[dict]]:
    """Question -> first accepted answer, as [user, assistant] conversations."""
    folder = Path(folder) / split
    with open_text(folder / "in.tsv") as f:
        questions = [line.rstrip("\n") for line in f]
    with open_text(folder / "expected.tsv") as f:
        answers = [line.rstrip("\n").split("\t")[0] for line in f]
    if len(questions) != len(answers):
        raise DataError(f"{folder}: in.tsv has {len(questions)} lines but expected.tsv has {len(answers)}")
    for n, (q, a) in enumerate(zip(questions, answers), 1):
        if not q.strip() or not a.strip():
            raise DataError(f"{folder / 'in.tsv'}, line {n}: empty question or answer")
    return [[{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in zip(questions, answers)]


def render(tok, conversations: list[list[dict]]) -> list[str]:
    """Each conversation through the tokenizer's chat template, without its leading <s> (the packer adds it)."""
    texts = [tok.apply_chat_template(c, tokenize=False) for c in conversations]
    bos = tok.bos_token or ""
    return [t[len(bos):] if bos and t.startswith(bos) else t for t in texts]
