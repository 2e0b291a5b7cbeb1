"""A local stand-in for the Hugging Face hub: tiny models and data sets saved under the real repo ids of the `small`
scale, in the cache layout huggingface_hub reads with the hub off (HF_HUB_OFFLINE=1).

The cache is models--<org>--<name>/refs/main (a commit hash), blobs/<hash> (the files) and
snapshots/<commit>/<files> (symlinks to the blobs); huggingface_hub's offline lookup
(snapshot_download(local_files_only=True), transformers' from_pretrained) resolves a repo id through it exactly as
it does after a real download. So the code that takes hub ids runs here unchanged.
"""
from __future__ import annotations

import gzip
from pathlib import Path

from bielik.book import hub, scales
from bielik.evaluation import polish_tasks

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# SmolLM2-360M's special tokens at its ids 0, 1, 2
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def snapshot(cache: Path, repo_id: str, kind: str) -> Path:
    """The snapshot folder of `repo_id` in the hub cache `cache` (created, with refs/main pointing at it)."""
    repo = Path(cache) / f"{kind}s--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    folder = repo / "snapshots" / COMMIT
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def polish_lines(n: int, min_chars: int = 200) -> list[str]:
    """Web paragraphs from the repository's OSCAR sample (data/oscar_pl_sample), as a hub corpus's rows."""
    out = []
    with gzip.open(ROOT / "data" / "oscar_pl_sample" / "pl_dedup_small.txt.gz", "rt", encoding="utf-8") as f:
        for line in f:
            if len(line.strip()) >= min_chars:
                out.append(line.strip())
            if len(out) == n:
                break
    return out


def smollm2_tokenizer(texts: list[str], vocab_size: int = 1024):
    """A byte-level BPE like SmolLM2's (its pre-tokenizer: one-digit splitting, then GPT-2's regex; <|endoftext|> as
    bos, eos and unk), trained on `texts`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=SPECIALS[0], eos_token=SPECIALS[0],
                                   unk_token=SPECIALS[0])


def smollm2_model(vocab_size: int, hidden: int = 96, layers: int = 32):
    """SmolLM2-360M's architecture (LlamaForCausalLM, tied embeddings, 3 query heads per KV head, RoPE theta 1e4,
    context 2,048), narrow but with its 32 layers, so that the report's layer map n = 32, m = 7 holds."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    heads = hidden // 16  # heads of 16, a KV head per three or four query heads (SmolLM2: 15 and 5 of 64)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=max(1, heads // 3), head_dim=16,
                      max_position_embeddings=2048, rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
                      bos_token_id=0, eos_token_id=0, hidden_act="silu")
    torch.manual_seed(0)
    return LlamaForCausalLM(cfg)


def _inverse(mapping: dict) -> dict:
    return {v: k for k, v in mapping.items()}


# our documents back into each hub set's own columns (polish_tasks.HUB_ROWS reads them the other way)
HUB_ROWS = {
    "polemo2_out": lambda d: {"sentence": d["text"], "target": _inverse(polish_tasks.POLEMO)[d["label"]]},
    "klej_ner": lambda d: {"sentence": d["text"], "target": _inverse(polish_tasks.NER)[d["label"]]},
    "polish_8tags": lambda d: {"sentence": d["text"], "label": d["label"]},
    "dyk": lambda d: {"q_id": "q", "question": d["text"], "answer": d["text_b"], "target": d["label"]},
    "ppc": lambda d: {"sentence_A": d["text"], "sentence_B": d["text_b"], "label": d["label"] + 1},
}


def eval_set(folder: Path, repo_id: str, rows: int = 200) -> None:
    """A task's hub set from the repository's copy, in the parquet layout of a converted hub data set."""
    import pandas as pd

    (name,) = [n for n, r in scales.HUB_TASK_SETS.items() if r == repo_id]
    test, train = polish_tasks.docs(name, ROOT / "data")
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for split, docs in (("test", test[:rows]), ("train", train[:rows])):
        pd.DataFrame([HUB_ROWS[name](d) for d in docs]).to_parquet(folder / "data" / f"{split}-00000-of-00001.parquet")


def build(cache: Path, scale: str = "small", corpus_rows: int = 300, hidden: int = 96) -> dict[str, Path]:
    """Every asset `scale`'s presets name (bielik.book.hub.assets), built small and saved under its real id; the
    model `hidden` wide (a multiple of 16)."""
    import pandas as pd

    texts = polish_lines(corpus_rows)
    made = {}
    for asset in hub.assets(scale):
        folder = snapshot(cache, asset.repo_id, asset.kind)
        if asset.patterns == hub.EVAL_FILES:
            eval_set(folder, asset.repo_id)
        elif asset.kind == "model":
            tok = smollm2_tokenizer(texts)
            model = smollm2_model(len(tok), hidden)
            model.save_pretrained(folder)
            tok.save_pretrained(folder)
        else:
            # the first shard named by the scale's pattern, e.g. pol_Latn/train-00000-of-00001.parquet
            name = asset.patterns[0].replace("*", "00001")
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame({"id": [f"doc-{i}" for i in range(len(texts))], "text": texts}).to_parquet(folder / name)
        as_blobs(folder)
        made[asset.repo_id] = folder
    return made


def as_blobs(folder: Path) -> None:
    """Lay a snapshot's files out as huggingface_hub's downloads do: the content in the repository's blobs/, named
    by its hash, and in snapshots/<commit>/ a relative symlink to it (readers must follow links)."""
    import hashlib
    import os

    blobs = folder.parent.parent / "blobs"
    blobs.mkdir(exist_ok=True)
    for path in [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]:
        blob = blobs / hashlib.sha256(path.read_bytes()).hexdigest()
        path.replace(blob)
        path.symlink_to(os.path.relpath(blob, path.parent))
