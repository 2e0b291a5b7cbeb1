import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMINGS: dict[str, float] = {}  # figures the slow tests measured, printed at the end of the run

# The tests never touch the hub.
os.environ.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"})


@pytest.fixture
def run(tmp_path):
    """An empty run folder (runs/<scale>) for one test."""
    d = tmp_path / "runs" / "ci"
    d.mkdir(parents=True)
    return d


@pytest.fixture(scope="session")
def quiz_tokenizer(tmp_path_factory):
    """(tokenizer, info): the book's SentencePiece tokenizer with the ChatML tokens, 400 pieces trained on the
    quiz questions. Real but small, for every test that needs a model's tokenizer."""
    from bielik.model.tokenizer import build_tokenizer

    texts = (ROOT / "data" / "poleval2021_quiz_qa" / "test-A" / "in.tsv").read_text().splitlines()
    return build_tokenizer(texts, 400, tmp_path_factory.mktemp("quiz-tokenizer") / "tok")


def tiny_mistral(vocab_size: int, *, hidden: int = 256, intermediate: int = 256, layers: int = 1,
                 context: int = 256, seed: int = 0):
    """An untrained MistralForCausalLM of the book's design (4 heads, 2 KV heads), small enough for a test."""
    from bielik.model.architecture import mistral_config, new_model

    return new_model(mistral_config(vocab_size, hidden, intermediate, layers, 4, 2, context), seed=seed)


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("measured")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name}: {seconds:.1f} s")
