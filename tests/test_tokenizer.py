import gzip
import json
import subprocess
import sys
import time

import pytest

from bielik.model import tokenizer as T

from conftest import ROOT, TIMINGS

NOVELS = sorted((ROOT / "data" / "polish_novels_100_pd").glob("*.txt.gz"))
VOCAB = 1000


def head(path, chars):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read(chars)


def corpus():
    """~200 kB: the openings of four Polish novels, an English one, and sentences with numbers."""
    texts = [head(p, 40_000) for p in NOVELS[:4]]
    texts.append(head(ROOT / "data" / "english_prose" / "ENG18540_Dickens.txt.gz", 30_000))
    numbers = (f"W roku {1800 + i} miasto miało {i * 37} domów i {i * i} osób." for i in range(200))
    texts.append("\n".join(numbers))
    return texts


HELD_OUT = NOVELS[-1]  # never trained on
CONVERSATION = [
    {"role": "system", "content": "Jesteś pomocnym asystentem."},
    {"role": "user", "content": "Ile to 2+2?"},
    {"role": "assistant", "content": "To jest 4.\nGotowe."},
    {"role": "user", "content": "A 3+3?"},
    {"role": "assistant", "content": "Sześć."},
]
TRICKY = "Zażółć gęślą jaźń.\n\nW 2024 r.  było 😀 i 中, czyli 1234567890 osób.\n\tKoniec  "


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "tokenizer"
    t = time.perf_counter()
    tok, info = T.build_tokenizer(corpus(), VOCAB, out)
    TIMINGS["tokenizer: build (train + wrap + save, 200 kB, vocab 1000)"] = time.perf_counter() - t
    return tok, info, out


def test_special_tokens_and_padded_size(built):
    tok, info, _ = built
    assert tok.convert_tokens_to_ids(["<unk>", "<s>", "</s>"]) == [0, 1, 2]
    assert (tok.unk_token, tok.bos_token, tok.eos_token, tok.pad_token) == ("<unk>", "<s>", "</s>", "<pad>")
    # chat tokens right after the base vocabulary, then <pad>; each one is a single token in text
    assert info["chat_token_ids"] == [VOCAB, VOCAB + 1] and tok.pad_token_id == VOCAB + 2
    for t in T.CHAT_TOKENS:
        assert tok.encode(t, add_special_tokens=False) == [tok.convert_tokens_to_ids(t)]
    assert len(tok) == VOCAB + 3 == info["tokenizer_size"]
    assert info["padded_vocab_size"] == 1024 and info["padded_vocab_size"] % T.PAD_MULTIPLE == 0
    assert info["padded_vocab_size"] >= len(tok)


def test_padded_vocab_size_matches_the_report():
    assert T.padded_vocab_size(32_000 + 3) == 32_128  # Mistral + 2 chat tokens + <pad>
    assert T.padded_vocab_size(32_002) == 32_128
    assert T.padded_vocab_size(32_000) == 32_000 and T.padded_vocab_size(1) == 128


def test_chat_template_renders_chatml_exactly(built):
    tok = built[0]
    assert tok.apply_chat_template(CONVERSATION[:3], tokenize=False) == (
        "<s><|im_start|>system\nJesteś pomocnym asystentem.<|im_end|>\n"
        "<|im_start|>user\nIle to 2+2?<|im_end|>\n"
        "<|im_start|>assistant\nTo jest 4.\nGotowe.<|im_end|>\n")
    assert tok.apply_chat_template(CONVERSATION[:2], tokenize=False, add_generation_prompt=True) == (
        "<s><|im_start|>system\nJesteś pomocnym asystentem.<|im_end|>\n"
        "<|im_start|>user\nIle to 2+2?<|im_end|>\n<|im_start|>assistant\n")
    # the rendered string tokenizes with one <s> and the chat tokens as single ids
    ids = tok.apply_chat_template(CONVERSATION[:2], add_generation_prompt=True, return_dict=False)
    assert ids[:2] == [1, VOCAB] and ids.count(1) == 1 and ids.count(VOCAB) == 3 and ids.count(VOCAB + 1) == 2


def test_plain_template_renders_the_same_in_plain_jinja(built):
    # as llama-cpp-python renders a GGUF's template: jinja2 without transformers' {% generation %} tag
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    plain = env.from_string(T.CHATML_TEMPLATE_PLAIN).render(messages=CONVERSATION, bos_token="<s>",
                                                            add_generation_prompt=True)
    assert plain == built[0].apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True)


def test_assistant_mask_covers_exactly_the_answers_and_their_im_end(built):
    tok = built[0]
    out = tok.apply_chat_template(CONVERSATION, return_assistant_tokens_mask=True, return_dict=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    assert len(mask) == len(ids)
    runs, start = [], None
    for i, m in enumerate(mask + [0]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            runs.append((start, i))
            start = None
    answers = [m["content"] for m in CONVERSATION if m["role"] == "assistant"]
    assert [tok.decode(ids[a:b]) for a, b in runs] == [a + "<|im_end|>\n" for a in answers]
    for a, _ in runs:  # each run starts right after "<|im_start|>assistant\n"
        assert tok.decode(ids[:a]).endswith("<|im_start|>assistant\n")


def test_round_trip_keeps_every_character(built):
    tok, _, out = built
    ids = tok.encode(TRICKY)
    assert ids[0] == 1 and tok.unk_token_id not in ids
    assert tok.decode(ids, skip_special_tokens=True) == TRICKY
    pieces = tok.convert_ids_to_tokens(ids)
    assert "<0x0A>" in pieces and "<0x09>" in pieces  # newline and tab as byte tokens, as in Mistral
    assert "<0xF0>" in pieces  # the emoji falls back to its 4 bytes
    # digits are split: no token holds two of them, so "2024" and "1234567890" are 14 tokens
    text_pieces = [p for p in pieces if not p.startswith("<0x")]
    assert all(sum(c.isdigit() for c in p) <= 1 for p in text_pieces)
    assert sum(p.strip("▁").isdigit() for p in text_pieces) == 14


def test_the_fast_tokenizer_matches_sentencepiece(built):
    import sentencepiece as spm

    tok, _, out = built
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    lines = [line for line in head(HELD_OUT, 30_000).split("\n") if line.strip()]
    assert sum(line.startswith(" ") for line in lines) > 10  # dialogue lines: " — Hela!"
    for text in lines + [TRICKY, head(HELD_OUT, 5_000)]:
        # the one difference (the HF Metaspace rule, the same for Mistral in transformers 5): a text that
        # starts with a space gets no extra "▁" dummy prefix, i.e. HF reads " x" as sentencepiece reads "x"
        expected = sp.encode(text[1:] if text.startswith(" ") else text)
        assert tok.encode(text, add_special_tokens=False) == expected
    assert sp.encode(" się", out_type=str) == ["▁"] + tok.tokenize(" się")
    assert tok.decode(tok.encode(" się"), skip_special_tokens=True) == "się"  # so that space is lost


def test_the_saved_folder_reloads_offline_with_the_same_ids(built):
    from transformers import AutoTokenizer

    tok, info, out = built
    assert info["files"] == ["tokenizer.json", "tokenizer.model", "tokenizer_config.json"]
    assert not list(out.parent.glob(".tokenizer.*"))  # no temporary folder left behind
    again = AutoTokenizer.from_pretrained(out)
    texts = [TRICKY, head(HELD_OUT, 3_000)]
    assert [again.encode(t) for t in texts] == [tok.encode(t) for t in texts]
    assert again.apply_chat_template(CONVERSATION, return_dict=False) == tok.apply_chat_template(
        CONVERSATION, return_dict=False)
    assert len(again) == len(tok) and again.pad_token_id == tok.pad_token_id


def test_every_later_save_keeps_the_sentencepiece_model(built, tmp_path):
    # a model folder is saved with a tokenizer loaded from the previous folder, chapter after chapter; transformers
    # 5 writes only tokenizer.json, and llama.cpp's converter needs tokenizer.model in the last folder (chapter 07's)
    from bielik.model.storage import load_tokenizer

    _, _, out = built
    first = T.save_tokenizer(load_tokenizer(out), tmp_path / "03")
    second = T.save_tokenizer(load_tokenizer(first), tmp_path / "07")
    assert (second / "tokenizer.model").read_bytes() == (out / "tokenizer.model").read_bytes()


def test_the_folder_has_what_llama_cpp_reads(built):
    from sentencepiece import sentencepiece_model_pb2

    _, _, out = built
    config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["chat_template"] == T.CHATML_TEMPLATE
    # the converter's SentencePiece path takes added tokens from here only (not from tokenizer.json)
    added = {int(i): t for i, t in config["added_tokens_decoder"].items()}
    assert {i: added[i]["content"] for i in (VOCAB, VOCAB + 1, VOCAB + 2)} == {
        VOCAB: "<|im_start|>", VOCAB + 1: "<|im_end|>", VOCAB + 2: "<pad>"}
    assert all(added[i]["special"] for i in added)
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString((out / "tokenizer.model").read_bytes())
    spec = proto.trainer_spec
    assert spec.model_type == sentencepiece_model_pb2.TrainerSpec.BPE and spec.byte_fallback
    assert proto.normalizer_spec.name == "identity" and proto.normalizer_spec.add_dummy_prefix
    assert not proto.normalizer_spec.remove_extra_whitespaces
    assert len(proto.pieces) == VOCAB and proto.pieces[3].piece == "<0x00>"


def test_fertility_against_the_byte_baseline(built):
    tok = built[0]
    text = "Zażółć gęślą jaźń, 12 razy."
    f = T.fertility(tok, [text])
    assert f["words"] == 5 and f["bytes_per_word"] == len(text.encode("utf-8")) / 5
    assert f["tokens"] == len(tok.encode(text, add_special_tokens=False))  # no BOS counted
    assert f["tokens_per_char"] == f["tokens"] / len(text)
    held = T.fertility(tok, [head(HELD_OUT, 30_000)])
    assert held["unk_rate"] == 0.0
    assert held["tokens_per_word"] < held["bytes_per_word"] / 2  # merges pay off on Polish
    with pytest.raises(ValueError):
        T.fertility(tok, [" "])


def test_same_seed_and_input_give_the_same_vocabulary(tmp_path):
    import sentencepiece as spm

    def vocab(path):
        sp = spm.SentencePieceProcessor(model_file=str(path))
        return [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]

    texts = corpus()
    a = vocab(T.train_sentencepiece(texts, VOCAB, tmp_path / "a"))
    assert vocab(T.train_sentencepiece(texts, VOCAB, tmp_path / "b", num_threads=1)) == a
    # with fewer lines than the corpus has, the sample depends on the seed only, also in a new process
    small = dict(input_sentence_size=400)
    s0 = vocab(T.train_sentencepiece(texts, VOCAB, tmp_path / "s0", seed=0, **small))
    assert vocab(T.train_sentencepiece(texts, VOCAB, tmp_path / "s1", seed=1, **small)) != s0
    code = ("import sys, test_tokenizer as t; "
            "t.T.train_sentencepiece(t.corpus(), t.VOCAB, sys.argv[1], seed=0, input_sentence_size=400)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "p")], cwd=ROOT, check=True,
                   env={"PYTHONPATH": str(ROOT / "tests"), "HF_HUB_OFFLINE": "1"})
    assert vocab(tmp_path / "p" / "tokenizer.model") == s0


def test_training_lines_cut_long_lines_at_spaces():
    line = " ".join(f"słowo{i}" for i in range(3000))
    pieces = list(T.training_lines([line + "\n\n  \nkrótka"], max_bytes=1000))
    assert pieces[-1] == "krótka" and all(len(p.encode("utf-8")) <= 1000 for p in pieces)
    assert " ".join(pieces[:-1]) == line  # the cut spaces come back as the dummy prefix "▁"


def test_a_failed_build_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError):  # a vocabulary smaller than the characters it must hold
        T.build_tokenizer(corpus(), 200, tmp_path / "tok")
    assert list(tmp_path.iterdir()) == []


def test_the_full_scale_path_adds_the_same_tokens_to_a_loaded_tokenizer(built, tmp_path):
    from transformers import AutoTokenizer

    # hub_with_chat_tokens loads by id; a local folder stands in for mistralai/Mistral-7B-v0.2 here,
    # with Mistral's `legacy: true` in its tokenizer_config.json
    _, _, out = built
    base = tmp_path / "base"
    T.hf_tokenizer(out / "tokenizer.model").save_pretrained(base)
    config = json.loads((base / "tokenizer_config.json").read_text(encoding="utf-8"))
    (base / "tokenizer_config.json").write_text(json.dumps({**config, "legacy": True}), encoding="utf-8")
    tok, padded = T.hub_with_chat_tokens(str(base))
    assert tok.convert_tokens_to_ids(T.CHAT_TOKENS + [T.PAD_TOKEN]) == [VOCAB, VOCAB + 1, VOCAB + 2]
    assert padded == 1024 and tok.chat_template == T.CHATML_TEMPLATE
    ours = built[0].apply_chat_template(CONVERSATION, return_dict=False)
    assert tok.apply_chat_template(CONVERSATION, return_dict=False) == ours
    # what legacy=True would have given: a "▁" after every special token, so other ids
    legacy, _ = T.add_chat_tokens(AutoTokenizer.from_pretrained(base))
    assert legacy.tokenize("<|im_start|>user")[1].startswith("▁")
    assert legacy.apply_chat_template(CONVERSATION, return_dict=False) != ours


def test_a_share_is_kept_when_a_pool_runs_short():
    from bielik.data.sampling import by_share

    assert by_share(5000, 3000, 6000, 0.4) == (3600, 2400, "")
    a, b, note = by_share(5000, 845, 6000, 0.9)  # exercise 1 of chapter 02: too few English documents
    assert (a, b) == (93, 845) and "second pool has only 845" in note
    assert by_share(5000, 845, 6000, 0.4)[:2] == (1267, 845)  # the share the parameter says, on fewer documents
    assert by_share(5000, 845, 0, 0.0) == (5000, 0, "")
    with pytest.raises(ValueError, match="not between 0 and 1"):
        by_share(10, 10, 10, 1.5)
