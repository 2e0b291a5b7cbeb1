"""The tokenizer of chapter 02: Mistral's SentencePiece BPE plus the ChatML tokens, padded to 128.

Bielik v2 kept Mistral-7B-v0.2's 32,000-token tokenizer instead of building a Polish one: merging a Polish
vocabulary (APT3) into Mistral's gave wrong token combinations where the two sets of BPE merges overlapped,
and a new vocabulary would have thrown away the embeddings Bielik is initialised from. Only the ChatML
tokens are added. At the book's small scales we train a tokenizer of the same kind on our corpus:
- a SentencePiece `tokenizer.model` (BPE, byte fallback), because llama.cpp's converter reads that file and
  llama.cpp aborts on any character a tokenizer without byte fallback cannot encode;
- "identity" normalisation, so "\\n", double spaces and every character survive as written ("\\n" becomes
  the byte token <0x0A>, as in Mistral); sentencepiece's default nmt_nfkc would fold "\\n" into a space.
At `full` the same `add_chat_tokens` is applied to Mistral-7B-v0.2's own tokenizer.
"""
from __future__ import annotations

import io
import json
import math
import os
import random
import shutil
from pathlib import Path
from typing import Iterable, Iterator

from bielik.book.artifacts import atomic_path
from bielik.book.provenance import usable_cores

CHAT_TOKENS = ["<|im_start|>", "<|im_end|>"]
# A dedicated pad token rather than </s>: collators that mask labels where input == pad_token_id would
# otherwise also mask every real </s>. It lands in the rows that padding to 128 adds anyway, so it costs
# the model nothing (Mistral: 32,000 + 2 chat tokens + <pad> = 32,003, still padded to 32,128).
PAD_TOKEN = "<pad>"
PAD_MULTIPLE = 128

# ChatML as Bielik v2.x renders it. The {% generation %} block marks what the model must learn to write
# (the answer and its <|im_end|>\n), so transformers can return an assistant-token mask for SFT.
CHATML_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + '<|im_end|>\\n' }}{% endgeneration %}"
    "{% else %}"
    "{{ message['content'] + '<|im_end|>\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# The same template without the transformers-only {% generation %} tag, rendering the identical string:
# llama-cpp-python releases without its PR #2226 (merged 2026-05) fail to load a GGUF whose template has it.
CHATML_TEMPLATE_PLAIN = CHATML_TEMPLATE.replace("{% generation %}", "").replace("{% endgeneration %}", "")


def padded_vocab_size(n: int, multiple: int = PAD_MULTIPLE) -> int:
    """The model's vocabulary size: n rounded up to a multiple of 128 (32,003 -> 32,128)."""
    return math.ceil(n / multiple) * multiple


def training_lines(texts: Iterable[str], max_bytes: int) -> Iterator[str]:
    """The sentences sentencepiece trains on: lines of each text, overlong ones cut at spaces.

    Training on lines keeps "\\n" out of the vocabulary, so it is always the byte token <0x0A> (as in
    Mistral). A line cut at a space loses that space, but the dummy prefix ("▁") of the next piece
    stands for it. sentencepiece silently skips sentences longer than max_sentence_length.
    """
    for text in texts:
        for line in text.split("\n"):
            if not line.strip():
                continue
            while len(line.encode("utf-8")) > max_bytes:
                # a cut in characters that is safely under max_bytes even if every character has 4 bytes
                cut = line.rfind(" ", 0, max_bytes // 4)
                if cut <= 0:
                    cut = max_bytes // 4
                    yield line[:cut]
                    line = line[cut:]
                else:
                    yield line[:cut]
                    line = line[cut + 1:]
            if line.strip():
                yield line


def sample_lines(lines: Iterable[str], k: int, seed: int) -> list[str]:
    """At most k lines, a uniform sample (reservoir) drawn with `seed`, in their original order.

    sentencepiece can sample itself (input_sentence_size), but its sample changes from one process to
    the next whatever seed is set, so the book samples here and lets sentencepiece read everything.
    """
    rng = random.Random(seed)
    kept: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        if len(kept) < k:
            kept.append((i, line))
        else:
            j = rng.randrange(i + 1)
            if j < k:
                kept[j] = (i, line)
    return [line for _, line in sorted(kept)]


def train_sentencepiece(texts: Iterable[str], vocab_size: int, out_dir: str | os.PathLike, seed: int = 0,
                        input_sentence_size: int = 2_000_000, max_sentence_length: int = 16_384,
                        num_threads: int | None = None, **options) -> Path:
    """Train a Mistral-like SentencePiece BPE model on `texts`; return the path of `out_dir/tokenizer.model`.

    `input_sentence_size` caps the lines used (a sample drawn with `seed` if there are more); the same
    texts and seed give the same model, whatever `num_threads`. `options` are passed on to
    SentencePieceTrainer (e.g. minloglevel=0 for its full log).
    """
    import sentencepiece as spm

    lines = sample_lines(training_lines(texts, max_sentence_length), input_sentence_size, seed)
    model = io.BytesIO()
    settings = dict(
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,  # <0x00>..<0xFF> at ids 3..258: nothing is ever <unk>
        split_digits=True,  # numbers are read digit by digit, as in Mistral
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,  # Mistral's ids; no pad in the base vocabulary
        normalization_rule_name="identity",  # keep every character as written (no NFKC)
        remove_extra_whitespaces=False,  # double spaces and indentation are text too
        allow_whitespace_only_pieces=True,  # runs of spaces ("▁▁▁▁") can become single tokens
        add_dummy_prefix=True,  # "▁" before the first word, as Llama/Mistral
        character_coverage=0.9995,  # rare characters go to bytes instead of taking vocabulary slots
        input_sentence_size=0, shuffle_input_sentence=False,  # sampled above, reproducibly
        max_sentence_length=max_sentence_length,
        num_threads=num_threads or usable_cores(),
        minloglevel=2,  # sentencepiece logs every step to stderr
    )
    settings.update(options)
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, **settings)
    path = Path(out_dir) / "tokenizer.model"
    with atomic_path(path) as tmp:
        tmp.write_bytes(model.getvalue())
    return path


def hf_tokenizer(spm_model_path: str | os.PathLike):
    """Wrap a SentencePiece model as the fast Llama tokenizer that transformers 5 uses for Mistral.

    transformers 5 has a single `LlamaTokenizer` (a `tokenizers` backend; `LlamaTokenizerFast` is an alias)
    whose constructor ignores `vocab_file`: `convert_to_native_format` turns the .model into vocab + merges
    first, as `from_pretrained` does. The ids equal sentencepiece's except for a text that *starts* with a
    space: the HF Metaspace rule adds no dummy "▁" then, so " x" is read as sentencepiece reads "x" and
    decodes without that first space (Mistral's own tokenizer does the same in transformers 5). After a
    special token no "▁" is added either, while llama.cpp adds one: compare the two on ids, not on text.
    """
    from transformers import LlamaTokenizer

    kwargs = LlamaTokenizer.convert_to_native_format(vocab_file=str(spm_model_path))
    # the extractor lists <s> and </s> again as "additional special tokens"; bos/eos/unk already cover them
    kwargs.pop("additional_special_tokens", None)
    return LlamaTokenizer(**kwargs, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                          add_bos_token=True, add_eos_token=False, legacy=False)


def add_chat_tokens(tok, pad_multiple: int = PAD_MULTIPLE):
    """Add the ChatML tokens, a pad token and the chat template; return (tok, padded vocabulary size).

    Padding to a multiple of 128 happens in the model only (the chapter builds it with
    `vocab_size=padded`): the tokenizer holds real tokens, the embedding rows past them are never produced
    by it, and llama.cpp's converter fills them with [PAD] entries itself.
    """
    # two calls: the chat tokens take the first ids after the base vocabulary (32,000 and 32,001 for
    # Mistral), then <pad>
    tok.add_special_tokens({"additional_special_tokens": CHAT_TOKENS})
    tok.add_special_tokens({"pad_token": PAD_TOKEN})
    tok.chat_template = CHATML_TEMPLATE
    return tok, padded_vocab_size(len(tok), pad_multiple)


def hub_with_chat_tokens(model_id: str, pad_multiple: int = PAD_MULTIPLE):
    """Small and full scale: a base model's own tokenizer (SmolLM2's byte-level BPE, Mistral-7B-v0.2's
    SentencePiece; from the hub or its cache) with the chat tokens it lacks added.

    Mistral-7B's tokenizer_config.json sets `legacy: true`, which in transformers 5 puts a "▁" at the start of
    every stretch of text after a special token ("<|im_start|>▁user"). legacy=False reads them as our own
    tokenizer does ("<|im_start|>user"), so chat ids and assistant masks agree across scales; tokenizers without
    the setting ignore it. SmolLM2 already has <|im_start|> and <|im_end|>: they keep their ids.
    """
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_id, trust_remote_code=False, legacy=False)
    return add_chat_tokens(tok, pad_multiple)


def save_tokenizer(tok, out_dir: str | os.PathLike) -> Path:
    """`tok.save_pretrained(out_dir)` in the layout llama.cpp's converter reads; use it for every save.

    transformers 5 keeps added tokens only in tokenizer.json, but the converter's SentencePiece path takes
    them from tokenizer_config.json's `added_tokens_decoder` (as transformers 4 wrote it); without it the
    chat tokens would become unused [PAD] entries in the GGUF. The chat template goes into
    tokenizer_config.json too, rather than a separate chat_template.jinja, where every reader looks.
    """
    out_dir = Path(out_dir)
    tok.save_pretrained(out_dir, save_jinja_files=False)
    # transformers 5 writes only tokenizer.json; the converter's SentencePiece path needs the model file itself,
    # from where the tokenizer was built or loaded
    if not (out_dir / "tokenizer.model").exists():
        for spm in (Path(getattr(tok, "vocab_file", None) or "-"), Path(tok.name_or_path or "-") / "tokenizer.model"):
            if spm.name == "tokenizer.model" and spm.is_file():
                shutil.copyfile(spm, out_dir / "tokenizer.model")
                break
    config_path = out_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    added = sorted(tok.added_tokens_decoder.items())
    config["added_tokens_decoder"] = {str(i): t.__getstate__() for i, t in added}
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                           encoding="utf-8")
    return out_dir


def build_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: str | os.PathLike, seed: int = 0,
                    **options):
    """Train, wrap, add chat tokens and save to `out_dir` in one step; return (tokenizer, info).

    The folder appears complete or not at all; it holds tokenizer.model (for llama.cpp), tokenizer.json and
    tokenizer_config.json (with the chat template) and loads with AutoTokenizer.from_pretrained.
    """
    out_dir = Path(out_dir)
    with atomic_path(out_dir, is_dir=True) as tmp:
        tmp.mkdir(parents=True, exist_ok=True)
        model_path = train_sentencepiece(texts, vocab_size, tmp, seed=seed, **options)
        tok, padded = add_chat_tokens(hf_tokenizer(model_path))
        save_tokenizer(tok, tmp)
    # point the tokenizer at the final folder, not the temporary one that was renamed
    tok.vocab_file = str(out_dir / "tokenizer.model")
    tok.name_or_path = str(out_dir)
    info = {
        "spm_vocab_size": vocab_size,
        "tokenizer_size": len(tok),
        "padded_vocab_size": padded,
        "chat_token_ids": tok.convert_tokens_to_ids(CHAT_TOKENS),
        "pad_token_id": tok.pad_token_id,
        "seed": seed,
        "files": sorted(p.name for p in out_dir.iterdir()),
    }
    return tok, info


def fertility(tok, texts: list[str]) -> dict:
    """Tokens per word and per character on held-out texts (no BOS), with the byte-level baseline.

    Words are whitespace-separated; the baseline is a byte-level tokenizer without merges, i.e. UTF-8
    bytes per word. `unk_rate` is the share of <unk> ids, which byte fallback keeps at 0.
    """
    texts = list(texts)
    n_words = sum(len(t.split()) for t in texts)
    if not n_words:
        raise ValueError("fertility needs texts with at least one word")
    ids = tok(texts, add_special_tokens=False)["input_ids"]
    n_tokens = sum(len(x) for x in ids)
    n_chars = sum(len(t) for t in texts)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    n_unk = sum(x.count(tok.unk_token_id) for x in ids)
    return {
        "texts": len(texts),
        "words": n_words,
        "chars": n_chars,
        "bytes": n_bytes,
        "tokens": n_tokens,
        "tokens_per_word": n_tokens / n_words,
        "tokens_per_char": n_tokens / n_chars,
        "bytes_per_word": n_bytes / n_words,  # the byte-level baseline's tokens per word
        "bytes_per_token": n_bytes / n_tokens,
        "unk_rate": n_unk / n_tokens,
    }
