"""Training mixes: documents from chapter 01's artifacts, split into training and held-out text, and
mixed by token shares (chapters 03 and 04)."""
from __future__ import annotations

import random

from bielik.data.splits import split_of
from bielik.training.packing import pack, tokenize


def read_texts(path, split: str, seed: int = 0) -> list[str]:
    """Texts of a parquet artifact; split "train" or "heldout" by the same group hash as chapter 01's test split,
    so held-out text comes from books and articles no stage has trained on."""
    import pandas as pd

    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    frame = pd.read_parquet(path, columns=["text", "group"])
    held = frame.group.map(lambda g: split_of(g, seed) == "test")
    return frame.text[held if split == "heldout" else ~held].tolist()


def polish_heldout(ch) -> list[str]:
    """The held-out Polish texts every chapter measures perplexity on: chapter 01's filtered corpus, its books and
    articles that no stage trains on (the same group hash as chapter 01's test split)."""
    return read_texts(ch.require("01", "filtered.parquet"), "heldout", ch.seed)


def mix(tok, sources: dict[str, list[str]], shares: dict[str, float], tokens: int, seq_len: int,
        seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Packed rows holding about `tokens` tokens, each source contributing its share (documents in random
    order, whole documents until the quota is met). Returns the rows and a table of tokens per source."""
    if abs(sum(shares.values()) - 1) > 1e-6:
        raise ValueError(f"shares must add up to 1, they add up to {sum(shares.values()):.3f}")
    rng = random.Random(seed)
    chosen, table = [], []
    for name, share in shares.items():
        texts = list(sources[name])
        rng.shuffle(texts)
        quota, got, docs = int(tokens * share), 0, 0
        for i in range(0, len(texts), 64):
            if got >= quota:
                break
            for ids in tokenize(tok, texts[i:i + 64]):
                if got >= quota:
                    break
                chosen.append(ids)
                got += len(ids)
                docs += 1
        table.append({"source": name, "share asked": share, "documents": docs, "tokens": got})
    total = sum(r["tokens"] for r in table)
    for r in table:
        r["share of tokens"] = round(r["tokens"] / max(total, 1), 3)
    rng.shuffle(chosen)
    return pack(chosen, seq_len), table


def heldout_rows(tok, texts: list[str], seq_len: int, max_rows: int) -> list[dict]:
    """Packed held-out rows, at most `max_rows`, always from the same documents in the same order."""
    docs: list[list[int]] = []
    for i in range(0, len(texts), 32):
        docs += tokenize(tok, texts[i:i + 32])
        if sum(map(len, docs)) >= seq_len * (max_rows + 1):
            break
    return pack(docs, seq_len)[:max_rows]
