"""The shared package of the Bielik 11B v2 reproducibility book.

Chapters call `bielik.start(...)` first; everything else lives in one module per concern:
scales (presets), chapters (the registry), session (a chapter's run), artifacts (atomic writes),
metrics (headline figures), runner (papermill), book (Jupyter Book build), paper (the report's facts),
upscale (layer maps and parameter counts), models (safetensors save/load), overview (chapter 00's figures).
"""
from importlib.metadata import PackageNotFoundError, version

from bielik.session import Session, start

try:
    __version__ = version("bielik")  # the one version number is in pyproject.toml
except PackageNotFoundError:  # imported from a checkout that was not pip-installed
    __version__ = "unknown"
__all__ = ["Session", "start", "__version__"]
