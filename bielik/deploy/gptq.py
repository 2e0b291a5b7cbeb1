"""GPTQ (W4A16) with llm-compressor (chapter 08): the GPU-side format of the report that can be made and run on a
CPU. GPTQ rounds each weight matrix column by column to 4 bits (groups of 128 weights share a scale), and after
each column updates the columns not yet rounded to cancel its error, using the inverse Hessian H = 2 X X^T of
the layer's calibration inputs X. The result is a compressed-tensors checkpoint ("pack-quantized") that
transformers loads and runs; on a GPU, vLLM runs the same files with 4-bit kernels.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import warnings
from pathlib import Path


GROUP_SIZE = 128  # weights sharing one scale in llm-compressor's W4A16 preset


def off_the_group(model, group_size: int = GROUP_SIZE) -> dict[str, int]:
    """{layer name: row length} of the decoder's linear layers whose rows (input columns) are not a multiple of
    `group_size`: group quantization cannot store them (SmolLM2's hidden 960 = 7.5 x 128), so they stay at 16 bits."""
    import torch

    return {name: m.in_features for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and m.in_features % group_size and m is not model.get_output_embeddings()}


def quantize(model_dir, out_dir, calibration_rows: list[list[int]], scheme: str = "W4A16") -> dict:
    """GPTQ of the model in `model_dir` on `calibration_rows` (token ids), the output head left at 16 bits as the
    published GPTQ builds do, and the layers whose rows a group of 128 does not divide (`off_the_group`); saved
    compressed to `out_dir` with the tokenizer. Returns {"seconds", "kept_16bit": {name: row length},
    "kept_share": the share of the decoder's linear weights those hold}."""
    os.environ["LLM_COMPRESSOR_LOG_DISABLED"] = "true"  # it logs every layer (and that there is no GPU)
    import datasets
    import torch
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import GPTQModifier
    from loguru import logger

    from bielik.book.artifacts import atomic_path
    from bielik.model.storage import load_model, load_tokenizer
    from bielik.model.tokenizer import save_tokenizer

    logger.disable("compressed_tensors")
    try:  # with its logging off, llm-compressor skips defining the level its GPTQ step still logs at
        logger.level("METRIC")
    except ValueError:
        logger.level("METRIC", no=38)
    logging.getLogger("torch.fx._symbolic_trace").setLevel(logging.ERROR)  # a warning about tracing, every time
    model, tok = load_model(model_dir), load_tokenizer(model_dir)
    data = datasets.Dataset.from_dict({"input_ids": calibration_rows,
                                       "attention_mask": [[1] * len(r) for r in calibration_rows]})
    start = time.perf_counter()
    kept = off_the_group(model)
    linear = {name: m.weight.numel() for name, m in model.named_modules()
              if isinstance(m, torch.nn.Linear) and m is not model.get_output_embeddings()}
    with quiet():
        oneshot(model=model, dataset=data,
                recipe=GPTQModifier(targets="Linear", scheme=scheme, ignore=["lm_head", *kept]),
                max_seq_length=max(map(len, calibration_rows)), num_calibration_samples=len(calibration_rows))
    seconds = time.perf_counter() - start
    with atomic_path(out_dir, is_dir=True) as tmp, quiet():
        model.save_pretrained(tmp, save_compressed=True)
        save_tokenizer(tok, tmp)
    return {"seconds": seconds, "kept_16bit": kept,
            "kept_share": sum(linear[n] for n in kept) / max(sum(linear.values()), 1)}


def load(folder):
    """The compressed model, loaded by transformers (which unpacks the 4-bit weights to run them on a CPU)."""
    from bielik.model.storage import load_model

    with quiet():
        return load_model(folder)


@contextlib.contextmanager
def quiet():
    """compressed-tensors draws a progress bar per step on stderr, and warns about offloading when saving."""
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Attempting to save a model with offloaded modules")
        yield


def size_mib(folder) -> float:
    return sum(p.stat().st_size for p in Path(folder).glob("*.safetensors")) / 2**20
