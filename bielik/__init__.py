"""The shared package of the Bielik 11B v2 reproducibility book.

Chapters call `bielik.start(...)` first; everything else lives in one module per concern:
- the spine: scales (presets), chapters (the registry), session (a chapter's run), artifacts (atomic writes),
  metrics (headline figures), runner (papermill), book (Jupyter Book build), cli, paths;
- the report: paper (its facts), overview (chapter 00's figures);
- 01 data: corpus, cleanup, features, labels, quality, topics, filtering;
- 02-03: tokenizer, base_model, upscale, models (safetensors save/load);
- 04: pretrain (packing, Trainer, checkpoints), mix, instructions, continued (the run the cluster job shares);
- 05: sft_data (the instruction set), sft (mask, packing, WICEL, ALR); chat (replies through the template);
- 06: preferences (the pairs pipeline), dpo (DPO-P on trl's DPOTrainer);
- 07: merging (mergekit: passthrough, linear, TIES, Model Stock), model_card;
- 08: quantize (GGUF: convert, imatrix, quantize, check), llama (llama.cpp runs), gptq (llm-compressor);
- 09: evaltasks and tasks/ (the Polish tasks), harness (lm-eval), ledger (the report's claims).
"""
from importlib.metadata import PackageNotFoundError, version

from bielik.session import Session, start

try:
    __version__ = version("bielik")  # the one version number is in pyproject.toml
except PackageNotFoundError:  # imported from a checkout that was not pip-installed
    __version__ = "unknown"
__all__ = ["Session", "start", "__version__"]
