"""Packing documents into training rows (chapters 03-05).

Documents are packed greedily into full-length rows; inside a row every document sees only itself:
position ids restart at each document and a block-diagonal causal mask (4D, which the model's SDPA
attention takes as given) stops attention across the boundary. The first token of each document is not
a training target, since nothing in its row may predict it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def tokenize(tok, texts: list[str]) -> list[list[int]]:
    """Each text as <s> ids </s>."""
    ids = tok(list(texts), add_special_tokens=False)["input_ids"]
    return [[tok.bos_token_id, *x, tok.eos_token_id] for x in ids]


def pack(docs: list[list[int]], seq_len: int) -> list[dict]:
    """Rows of exactly `seq_len` tokens: documents laid end to end, a long one continued in the next row.

    Each row holds input_ids, position_ids (restarting at every document piece) and segments (which
    document piece each token belongs to, numbered within the row). The last partial row is dropped.
    """
    rows, ids, pos, seg = [], [], [], []
    for doc in docs:
        start = 0
        while start < len(doc):
            take = min(len(doc) - start, seq_len - len(ids))
            piece = doc[start:start + take]
            seg_id = (seg[-1] + 1) if seg else 0
            ids += piece
            pos += range(take)
            seg += [seg_id] * take
            start += take
            if len(ids) == seq_len:
                rows.append({"input_ids": ids, "position_ids": pos, "segments": seg})
                ids, pos, seg = [], [], []
    return rows


def block_causal_mask(segments: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """(batch, 1, L, L) additive mask: 0 where a token may attend (same segment, not in the future)."""
    same = segments[:, :, None] == segments[:, None, :]
    causal = torch.tril(torch.ones(segments.shape[1], segments.shape[1], dtype=torch.bool))
    allowed = same & causal
    return torch.where(allowed, 0.0, torch.finfo(dtype).min).to(dtype)[:, None]


@dataclass
class PackedCollator:
    """Stacks packed rows into a batch with labels and the block-diagonal mask."""

    def __call__(self, rows: list[dict]) -> dict:
        ids = torch.tensor([r["input_ids"] for r in rows])
        seg = torch.tensor([r["segments"] for r in rows])
        labels = ids.clone()
        first = torch.ones_like(seg, dtype=torch.bool)
        first[:, 1:] = seg[:, 1:] != seg[:, :-1]
        labels[first] = -100  # a document's first token has no context in its row
        return {"input_ids": ids, "position_ids": torch.tensor([r["position_ids"] for r in rows]),
                "attention_mask": block_causal_mask(seg), "labels": labels}


def split_rows(rows: list[dict], n_eval: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    order = np.random.default_rng(seed).permutation(len(rows))
    return [rows[i] for i in order[n_eval:]], [rows[i] for i in order[:n_eval]]
