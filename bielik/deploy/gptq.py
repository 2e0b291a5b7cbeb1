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

from bielik.model.architecture import linear_layers, rows_off

GROUP_SIZE = 128  # weights sharing one scale in llm-compressor's W4A16 preset
GROUP_SIZES = (128, 64, 32)  # the group sizes vLLM's 4-bit (Marlin) kernels run


def group_size(model) -> int:
    """The largest of GROUP_SIZES that divides the rows (input columns) of every linear layer: 128 for the report's
    model (hidden 4,096), 64 for SmolLM2 (hidden 960 = 7.5 x 128), else 128 with `off_the_group` kept at 16 bits."""
    rows = {m.in_features for m in linear_layers(model).values()}
    return next((g for g in GROUP_SIZES if all(r % g == 0 for r in rows)), GROUP_SIZE)


def off_the_group(model, group: int = GROUP_SIZE) -> dict[str, int]:
    """{layer name: row length} of the linear layers whose rows `group` does not divide: group quantization cannot
    store them, so they stay at 16 bits."""
    return rows_off(model, group)


def quantizable(model) -> bool:
    """Whether any linear layer's rows a group of GROUP_SIZES divides (else GPTQ would have nothing to quantize)."""
    return len(off_the_group(model, group_size(model))) < len(linear_layers(model))


def _recipe(scheme: str, group: int, ignore: list[str]):
    from llmcompressor.modifiers.quantization import GPTQModifier

    if group == GROUP_SIZE:
        return GPTQModifier(targets="Linear", scheme=scheme, ignore=ignore)
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme

    if scheme != "W4A16":
        raise ValueError(f"GPTQ scheme {scheme!r} with groups of {group}: only W4A16 is built with another group size")
    weights = QuantizationArgs(num_bits=4, type="int", strategy="group", group_size=group, symmetric=True, dynamic=False)
    return GPTQModifier(config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=weights)},
                        ignore=ignore)


def quantize(model_dir, out_dir, calibration_rows: list[list[int]], scheme: str = "W4A16") -> dict:
    """GPTQ of the model in `model_dir` on `calibration_rows` (token ids), the output head left at 16 bits as the
    published GPTQ builds do, in groups of `group_size(model)`, and any layer that group does not divide left at 16
    bits too; saved compressed to `out_dir` with the tokenizer. Returns {"seconds", "group_size", "kept_16bit":
    {name: row length}, "kept_share": the share of the decoder's linear weights those hold}."""
    os.environ["LLM_COMPRESSOR_LOG_DISABLED"] = "true"  # it logs every layer (and that there is no GPU)
    import datasets
    from llmcompressor import oneshot
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
    group = group_size(model)
    kept = off_the_group(model, group)
    sizes = {name: m.weight.numel() for name, m in linear_layers(model).items()}
    if len(kept) == len(sizes):
        raise ValueError(f"{model_dir}: no linear layer has rows a group of {', '.join(map(str, GROUP_SIZES))} "
                         f"divides ({sorted(set(kept.values()))}): GPTQ would leave every weight at 16 bits")
    start = time.perf_counter()
    with quiet():
        oneshot(model=model, dataset=data, recipe=_recipe(scheme, group, ["lm_head", *kept]),
                max_seq_length=max(map(len, calibration_rows)), num_calibration_samples=len(calibration_rows))
    seconds = time.perf_counter() - start
    with atomic_path(out_dir, is_dir=True) as tmp, quiet():
        model.save_pretrained(tmp, save_compressed=True)
        save_tokenizer(tok, tmp)
    return {"seconds": seconds, "group_size": group, "kept_16bit": kept,
            "kept_share": sum(sizes[n] for n in kept) / max(sum(sizes.values()), 1)}


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
