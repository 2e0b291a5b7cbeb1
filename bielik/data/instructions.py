"""Polish instructions as ChatML conversations. Chapter 04 mixes them into pretraining, as the report does;
chapter 05 builds the full instruction set from here.

PolEval 2021 quiz questions: dev-0 (1,000) is for training; test-A stays held out for evaluation.
"""
from __future__ import annotations

from pathlib import Path

from bielik.data.readers import DataError, open_text


def read_quiz(folder: Path, split: str = "dev-0") -> list[tuple[str, list[str]]]:
    """(question, accepted answers) per line of in.tsv / expected.tsv."""
    folder = Path(folder) / split
    with open_text(folder / "in.tsv") as f:
        questions = [line.rstrip("\n") for line in f]
    with open_text(folder / "expected.tsv") as f:
        answers = [[a for a in line.rstrip("\n").split("\t") if a.strip()] for line in f]
    if len(questions) != len(answers):
        raise DataError(f"{folder}: in.tsv has {len(questions)} lines but expected.tsv has {len(answers)}")
    for n, (q, a) in enumerate(zip(questions, answers), 1):
        if not q.strip() or not a:
            raise DataError(f"{folder / 'in.tsv'}, line {n}: empty question or answer")
    return list(zip(questions, answers))


def quiz_qa(folder: Path, split: str = "dev-0") -> list[list[dict]]:
    """Question -> first accepted answer, as [user, assistant] conversations."""
    return [[{"role": "user", "content": q}, {"role": "assistant", "content": a[0]}] for q, a in read_quiz(folder, split)]


def render(tok, conversations: list[list[dict]]) -> list[str]:
    """Each conversation through the tokenizer's chat template, without its leading <s> (the packer adds it)."""
    texts = [tok.apply_chat_template(c, tokenize=False) for c in conversations]
    bos = tok.bos_token or ""
    return [t[len(bos):] if bos and t.startswith(bos) else t for t in texts]
