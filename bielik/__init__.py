"""The shared package of the Bielik 11B v2 reproducibility book, laid out by the report's parts.

A chapter calls `bielik.start("NN", globals())` first; the rest is in one subpackage per part:
- `book`: the machinery (scales, chapters, session, runner, the `bielik` command, artifacts, figures, ...);
- `report`: the report's facts and tables, chapter 00's figures, the ledger of its claims;
- `data` (§3.1, chapter 01): readers of data/, the split hash, cleanup, features, the quality and topic models;
- `model` (§2, chapters 02-03): tokenizer, architecture, depth up-scaling, model folders, chat;
- `training`: what every training stage shares (arguments, packing, checkpoints, curves, throughput);
- `pretrain` (§3, chapter 04), `posttrain` (§4, chapters 05-07), `deploy` (§5, chapter 08),
  `evaluation` (§6, chapters 04-09).
The README's layout section lists every module with one line.
"""
from bielik.book.provenance import package_version
from bielik.book.session import Session, start

__version__ = package_version()
__all__ = ["Session", "start", "__version__"]
