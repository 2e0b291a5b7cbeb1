"""Run GGUF files in llama.cpp through llama-cpp-python (chapter 08): next-token distributions, perplexity, KL
divergence against the 16-bit file, top-token agreement, generation and its speed.

llama.cpp can abort the whole Python process (an unknown token, a damaged file), so every call here runs in a
child process (`bielik.book.child_process`), and the file is checked by `gguf_files.check` first. Token ids, not text,
go in: the same ids for every format and for transformers, so the numbers compare like with like.
"""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np


class LlamaError(RuntimeError):
    """llama.cpp failed on a file: the message ends with the child's last line, `.stderr` holds all it wrote."""


def in_child(job: dict, target: str = "bielik.deploy.llama_cpp:run_job") -> dict:
    """Run a llama.cpp `job` on the GGUF file job["model"] (checked first) in a child process."""
    from bielik.book import child_process
    from bielik.deploy.gguf_files import check

    check(job["model"])
    return child_process.run(target, job, what=f"llama.cpp on {job['model']}", error=LlamaError)


def log_probs(model_path, rows: list[list[int]], context: int) -> np.ndarray:
    """log-softmax of llama.cpp's logits at every position of every row: [rows, positions, vocab], float32."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "logp.npy"
        in_child({"op": "log_probs", "model": str(model_path), "rows": rows, "context": context, "out": str(out)})
        return np.load(out)


def generate(model_path, prompt_ids: list[int], max_tokens: int, context: int, stop_id: int | None = None) -> dict:
    """Greedy continuation of `prompt_ids`, stopping at `stop_id`: {"ids", "seconds", "tokens_per_s"}, the time
    covering the prompt and the new tokens."""
    return in_child({"op": "generate", "model": str(model_path), "prompt": prompt_ids, "max_tokens": max_tokens,
                   "context": context, "stop": stop_id})


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return (x - np.log(np.exp(x).sum(axis=-1, keepdims=True))).astype(np.float32)


class Agreement:
    """Running totals for one model against a reference, row by row (so no [rows, positions, vocab] array is
    ever held): the model's perplexity on the next tokens, its mean KL divergence from the reference's
    distribution, and how often both put the same token on top (llama.cpp's --kl-divergence figures "Mean KLD"
    and "Same top p")."""

    def __init__(self):
        self.nll = self.kld = 0.0
        self.same = self.n = 0

    def add(self, ref: np.ndarray, other: np.ndarray, ids: list[int]) -> None:
        """`ref`, `other`: log-probs [positions, vocab] of one row of token `ids`."""
        k = len(ids) - 1
        ref, oth = ref[:k].astype(np.float64), other[:k].astype(np.float64)
        self.nll -= oth[np.arange(k), ids[1:]].sum()
        self.kld += (np.exp(ref) * (ref - oth)).sum()
        self.same += int((ref.argmax(-1) == oth.argmax(-1)).sum())
        self.n += k

    def result(self) -> dict:
        return {"perplexity": float(np.exp(self.nll / self.n)), "kld": float(self.kld / self.n),
                "same_top": self.same / self.n, "tokens": self.n}


def compare(reference: np.ndarray, other: np.ndarray, rows: list[list[int]]) -> dict:
    """`Agreement` of two [rows, positions, vocab] log-prob arrays."""
    a = Agreement()
    for r, ids in enumerate(rows):
        a.add(reference[r], other[r], ids)
    return a.result()


def compare_files(reference, model_path, rows: list[list[int]], context: int) -> dict:
    """`Agreement` of a GGUF file with a reference GGUF file (the 16-bit one) on the same rows, both run in one
    child process row by row: memory stays at one row's distributions whatever the vocabulary and context."""
    from bielik.deploy.gguf_files import check

    check(reference)
    return in_child({"op": "compare", "reference": str(reference), "model": str(model_path), "rows": rows,
                   "context": context})


def transformers_log_probs(model, rows: list[list[int]]) -> np.ndarray:
    """The same array as `log_probs`, from the transformers model: the yardstick for the conversion itself."""
    import torch

    width = max(len(r) for r in rows)
    out = np.zeros((len(rows), width, model.config.vocab_size), dtype=np.float32)
    model.eval()
    with torch.no_grad():
        for i, ids in enumerate(rows):
            logits = model(input_ids=torch.tensor([ids])).logits[0].float().numpy()
            out[i, :len(ids)] = log_softmax(logits)
    return out


def transformers_speed(model, prompt_ids: list[int], max_tokens: int) -> dict:
    """Greedy generation of `max_tokens` tokens with transformers (KV cache on, no early stop), timed as
    `generate` is (prompt and new tokens): {"seconds", "tokens_per_s"}."""
    import time

    import torch

    model.eval()
    ids = torch.tensor([prompt_ids])
    with torch.no_grad():
        start = time.perf_counter()
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_tokens,
                             min_new_tokens=max_tokens, do_sample=False, use_cache=True,
                             pad_token_id=model.config.pad_token_id or 0)
        seconds = time.perf_counter() - start
    n = out.shape[1] - ids.shape[1]
    return {"seconds": seconds, "tokens_per_s": n / seconds}


def open_gguf(path, context: int):
    """A llama.cpp model with room for `context` tokens. logits_all: llama-cpp-python fills `scores` only then
    (its sampler reads the logits itself otherwise)."""
    from llama_cpp import Llama

    from bielik.book.provenance import usable_cores

    with _without_extra_buffers(amx_repacks()):
        return Llama(model_path=str(path), n_ctx=context, n_batch=context, n_threads=usable_cores(),
                     logits_all=True, verbose=False)


def amx_repacks() -> bool:
    """Whether llama.cpp repacks quantized weights for Intel AMX on this machine. Its AMX matrix product segfaults on
    the first forward pass of every quantized file here (Q8_0, K- and i-quants; ggml-org/llama.cpp#20824, seen on
    a 2-core Xeon with AMX_INT8 in llama-cpp-python 0.3.36), while F16 files, which it does not repack, run."""
    import llama_cpp

    return "AMX_INT8 = 1" in llama_cpp.llama_print_system_info().decode()


@contextlib.contextmanager
def _without_extra_buffers(off: bool):
    """Load with llama.cpp's `use_extra_bufts` off (no weight repacking: the plain CPU kernels) when `off`.
    llama-cpp-python's Llama does not take the flag, so its default model parameters are swapped while it loads."""
    import llama_cpp.llama_cpp as C

    if not off:
        yield
        return
    default = C.llama_model_default_params

    def params():
        p = default()
        p.use_extra_bufts = False
        return p

    C.llama_model_default_params = params
    try:
        yield
    finally:
        C.llama_model_default_params = default


def row_logits(llm, ids: list[int]) -> np.ndarray:
    """llama.cpp's logits at every position of `ids`, evaluated from an empty cache: [positions, vocab]."""
    llm.reset()
    llm.eval(ids)
    # a copy: `scores` is llama-cpp-python's own buffer, which the next row overwrites
    return np.array(llm.scores[:len(ids)], dtype=np.float32)


class GGUFCalls:
    """A mixin for lm-eval's HFLM (`harness.lm_for(..., calls=...)`): HFLM keeps its request handling (the
    tokenisation, truncation, batching and stop strings the transformers path uses), and llama.cpp computes the
    logits of each row and each generated token. A subclass sets `llama` to a loaded llama_cpp.Llama."""

    llama = None

    def _model_call(self, inps, attn_mask=None, labels=None):
        import torch

        # HFLM pads rows on the right; a causal model's logits before the padding do not depend on it
        return torch.tensor(np.stack([row_logits(self.llama, row) for row in inps.tolist()]))

    def _model_generate(self, context, max_length: int, stop: list[str], **generation_kwargs):
        import torch

        mask = generation_kwargs.get("attention_mask")
        rows = []
        for i, row in enumerate(context.tolist()):
            ids = [t for t, m in zip(row, mask[i].tolist()) if m] if mask is not None else list(row)
            new: list[int] = []
            logits = row_logits(self.llama, ids)[-1]
            while len(row) + len(new) < max_length:
                token = int(np.argmax(logits))
                new.append(token)
                if token == self.tokenizer.eos_token_id or any(s in self.tok_decode(new) for s in stop or []):
                    break
                self.llama.eval([token])
                logits = np.asarray(self.llama.scores[self.llama.n_tokens - 1], dtype=np.float32)
            rows.append(row + new)
        width = max(map(len, rows))
        pad = self.tokenizer.pad_token_id or 0
        return torch.tensor([r + [pad] * (width - len(r)) for r in rows])


def run_job(job: dict) -> dict:
    """The child's side of every call here: one job, its result as a dict (arrays go through a .npy file)."""
    import time

    def load(path):
        return open_gguf(path, job["context"])

    def row_log_probs(llm, ids):
        return log_softmax(row_logits(llm, ids))

    if job["op"] == "log_probs":
        llm = load(job["model"])
        width = max(len(r) for r in job["rows"])
        out = np.zeros((len(job["rows"]), width, llm.n_vocab()), dtype=np.float32)
        for i, ids in enumerate(job["rows"]):
            out[i, :len(ids)] = row_log_probs(llm, ids)
        np.save(job["out"], out)
        return {"rows": len(job["rows"])}
    elif job["op"] == "compare":
        ref, llm = load(job["reference"]), load(job["model"])
        agreement = Agreement()
        for ids in job["rows"]:
            agreement.add(row_log_probs(ref, ids), row_log_probs(llm, ids), ids)
        return agreement.result()
    elif job["op"] == "generate":
        llm = load(job["model"])
        llm.reset()
        ids, start = [], time.perf_counter()
        llm.eval(job["prompt"])  # timed with the generation, as transformers' generate is
        for _ in range(job["max_tokens"]):
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            if token == job["stop"]:
                break
            ids.append(token)
            llm.eval([token])
        seconds = time.perf_counter() - start
        return {"ids": ids, "seconds": seconds, "tokens_per_s": len(ids) / seconds if seconds else 0.0}
    raise SystemExit(f"unknown op {job['op']!r}")
