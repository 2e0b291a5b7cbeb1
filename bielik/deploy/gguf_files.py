"""GGUF files through llama.cpp's own code (chapter 08): convert, compute an importance matrix, quantize, check.

- convert: llama.cpp's `convert_hf_to_gguf.py` turns a model folder into a 16-bit GGUF. The script ships inside
  llama-cpp-python's source package, not in its wheel; `install_converter` extracts it (with its `conversion/`
  package and the `gguf-py` it imports) at install time, into <venv>/share/llama.cpp (run.sh does this).
- quantize: `llama_model_quantize` of llama-cpp-python (the library the llama-quantize tool calls), in a child
  process, because llama.cpp aborts the whole process on some errors.
- imatrix: what llama.cpp's `llama-imatrix` tool computes, the mean of x_j^2 over calibration tokens for every
  input column j of every linear layer, here with forward hooks on the HF model (llama.cpp has no Python API for
  it); quantization then weighs each column's rounding error by it.
- check: a missing, truncated or foreign file gets an error naming the file and what is wrong, before llama.cpp
  sees it.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

# The report's GGUF formats (Table 9) that llama.cpp makes from a 16-bit file without an imatrix, and llama.cpp's
# ftype number for each (llama.h, enum llama_ftype).
FTYPES = {"F16": 1, "Q8_0": 7, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18, "IQ2_XXS": 19, "IQ3_XXS": 23, "IQ4_XS": 30}
GGML_F16 = 1  # ggml_type of the tensors an imatrix variant keeps at 16 bits (embeddings and output)


class GGUFError(ValueError):
    """A GGUF file that is missing, truncated or not GGUF, or a conversion or quantization that failed."""


# --- the converter --------------------------------------------------------------------------------------

def converter_dir() -> Path:
    """Where the converter lives: $BIELIK_LLAMA_CPP, else <venv>/share/llama.cpp."""
    return Path(os.environ.get("BIELIK_LLAMA_CPP") or Path(sys.prefix) / "share" / "llama.cpp")


def install_converter(dest: Path | None = None, sdist: Path | None = None) -> Path:
    """Extract convert_hf_to_gguf.py, conversion/ and gguf-py/ from llama-cpp-python's source package (downloaded
    with pip, which reuses its cache) into `dest`. Nothing of it is committed to this repository."""
    import shutil
    import tarfile
    import tempfile
    from importlib.metadata import version

    dest = Path(dest or converter_dir())
    if (dest / "convert_hf_to_gguf.py").exists():
        return dest
    llama_version = version("llama_cpp_python")  # the installed one, pinned in pyproject.toml: its converter
    with tempfile.TemporaryDirectory() as tmp:
        if sdist is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                            "--disable-pip-version-check", "-q", f"llama-cpp-python=={llama_version}", "-d", tmp],
                           check=True)
            sdist = next(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        prefix = f"llama_cpp_python-{llama_version}/vendor/llama.cpp/"
        wanted = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/", "LICENSE")
        staging = Path(tmp) / "out"
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers()
                       if m.name.startswith(prefix) and m.name[len(prefix):].startswith(wanted)]
            for m in members:
                m.name = m.name[len(prefix):]
            tar.extractall(staging, members=members, filter="data")
        if not (staging / "convert_hf_to_gguf.py").exists():
            raise GGUFError(f"{sdist}: no vendor/llama.cpp/convert_hf_to_gguf.py in it")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, dest, dirs_exist_ok=True)
    return dest


def _tokenizer_class(model_dir) -> str:
    path = Path(model_dir) / "tokenizer_config.json"
    return str(json.loads(path.read_text(encoding="utf-8")).get("tokenizer_class", "")) if path.exists() else "Llama"


# llama.cpp names a byte-level BPE's pre-tokenizer (the regex that splits text before the merges) by hashing the
# tokens of a test string, so a tokenizer retrained on new text, with a known splitter, is not recognised. These are
# the splitters of tokenizers.json that llama.cpp implements exactly (src/llama-vocab.cpp): GPT-2's regex, and the
# same after one-digit splitting (SmolLM's). A normalizer would change the text before splitting, so none may be set.
_GPT2_SPLIT = {"type": "ByteLevel", "use_regex": True}
_DIGITS = {"type": "Digits", "individual_digits": True}


def known_pre_tokenizer(model_dir) -> str | None:
    """llama.cpp's name for the pre-tokenizer in `model_dir`/tokenizer.json, read from its structure: "gpt-2",
    "smollm", or None when it is not one llama.cpp implements exactly (or there is no tokenizer.json)."""
    path = Path(model_dir) / "tokenizer.json"
    if not path.exists():
        return None
    spec = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("normalizer") is not None:
        return None
    pre = spec.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]

    def like(step, want):
        return all(step.get(k) == v for k, v in want.items())

    if len(steps) == 1 and like(steps[0], _GPT2_SPLIT):
        return "gpt-2"
    if len(steps) == 2 and like(steps[0], _DIGITS) and like(steps[1], _GPT2_SPLIT):
        return "smollm"
    return None


# The converter run with one change: where its table of hashes does not know the tokenizer, the pre-tokenizer read
# from tokenizer.json's structure (BIELIK_GGUF_PRE) is used instead of stopping.
_CONVERT = """
import os, runpy, sys
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(script))
from conversion import base
lookup = base.TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    try:
        return lookup(self, tokenizer)
    except NotImplementedError:
        if os.environ.get("BIELIK_GGUF_PRE"):
            return os.environ["BIELIK_GGUF_PRE"]
        raise
base.TextModel.get_vocab_base_pre = get_vocab_base_pre
runpy.run_path(script, run_name="__main__")
"""


def convert(model_dir, out_path, outtype: str = "f16") -> Path:
    """A model folder (safetensors + tokenizer.model or tokenizer.json) to a GGUF file of `outtype` (f32, f16, bf16
    or q8_0)."""
    from bielik.book.artifacts import atomic_path

    script = converter_dir() / "convert_hf_to_gguf.py"
    if not script.exists():
        raise GGUFError(f"llama.cpp's converter is not installed at {script}: run "
                        f"`bielik install-converter` (run.sh does it after pip install)")
    sentencepiece = "Llama" in _tokenizer_class(model_dir)  # our own and Mistral's; SmolLM2's is a byte-level BPE
    if sentencepiece and not (Path(model_dir) / "tokenizer.model").exists():
        # without it the converter takes another vocabulary path that drops the padded rows, and llama.cpp then
        # refuses the file with a shape error far from the cause
        raise GGUFError(f"{model_dir} has no tokenizer.model (the SentencePiece file llama.cpp's converter reads): "
                        f"save models with bielik.model.storage.save_model(model, path, tokenizer), or rerun the chapters "
                        f"that wrote it")
    pre = known_pre_tokenizer(model_dir) or ""
    with atomic_path(out_path) as tmp:
        proc = subprocess.run([sys.executable, "-c", _CONVERT, str(script), str(model_dir), "--outtype", outtype,
                               "--outfile", str(tmp)], capture_output=True, text=True,
                              env={**os.environ, "HF_HUB_OFFLINE": "1", "BIELIK_GGUF_PRE": pre})
        if proc.returncode != 0:
            if "pre-tokenizer was not recognized" in proc.stderr:
                raise GGUFError(f"{model_dir}/tokenizer.json: llama.cpp's converter does not know this byte-level "
                                f"BPE's pre-tokenizer (neither its hash nor its structure, GPT-2's regex with or "
                                f"without one-digit splitting and no normalizer); keep the base model's "
                                f"pre-tokenizer when retraining a tokenizer, or add its hash to "
                                f"convert_hf_to_gguf_update.py")
            raise GGUFError(f"convert_hf_to_gguf.py failed on {model_dir}:\n{proc.stderr[-3000:]}")
    return Path(out_path)


SUPER_BLOCK = 256  # weights per K-quant and IQ block (ggml's QK_K): a row must hold a whole number of them


def rows_off_the_super_block(model) -> dict[int, int]:
    """{row length: matrices} for the decoder's linear weights whose rows (input columns, GGUF's ne[0]) are not a
    multiple of 256. llama.cpp cannot store such a matrix in a K-quant or IQ type and falls back to a 32-weight block
    type (Q4_K to Q5_0, Q6_K to Q8_0, IQ types to IQ4_NL; llama-quant.cpp, tensor_type_fallback)."""
    from collections import Counter

    from bielik.model.architecture import rows_off

    return dict(Counter(rows_off(model, SUPER_BLOCK).values()))


# --- the importance matrix ------------------------------------------------------------------------------

def importance_matrix(model, rows: list[list[int]]) -> dict[str, list[float]]:
    """Mean squared input activation per input column of every linear layer of the decoder blocks, over the
    calibration `rows` (token ids): {GGUF tensor name: values}. The output head is left out: the imatrix variant
    keeps it at 16 bits."""
    import gguf
    import torch

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, model.config.num_hidden_layers)
    sums, counts, hooks = {}, {}, []

    def hook(name):
        def record(module, inputs, output):
            x = inputs[0].detach().float().reshape(-1, inputs[0].shape[-1])
            sums[name] = sums.get(name, 0) + (x * x).sum(dim=0)
            counts[name] = counts.get(name, 0) + x.shape[0]
        return record

    for hf_name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and hf_name.startswith("model.layers."):
            gguf_name = names.get_name(hf_name)
            if gguf_name is None:
                raise GGUFError(f"no GGUF name for {hf_name}")
            hooks.append(module.register_forward_hook(hook(gguf_name + ".weight")))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for ids in rows:
                model(input_ids=torch.tensor([ids]))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return {name: (sums[name] / counts[name]).tolist() for name in sums}


# --- quantization ---------------------------------------------------------------------------------------

def quantize(src, dst, fmt: str, imatrix: dict[str, list[float]] | None = None, threads: int = 2,
             pure: bool = False) -> Path:
    """llama.cpp's quantization of a 16-bit GGUF to `fmt` (a key of FTYPES). With an `imatrix`, token
    embeddings and the output head stay at F16, as the report's imatrix files do. `pure` puts every 2-D tensor at
    the format's base type (no _M mix, embeddings and output too), as llama-quantize --pure does."""
    from bielik.book import child_process
    from bielik.book.artifacts import atomic_path

    if fmt not in FTYPES:
        raise GGUFError(f"unknown GGUF format {fmt!r}; the formats are: {', '.join(FTYPES)}")
    check(src)
    job = {"src": str(src), "ftype": FTYPES[fmt], "threads": threads, "imatrix": imatrix, "pure": pure}
    with atomic_path(dst) as tmp:
        job["dst"] = str(tmp)
        try:
            child_process.run("bielik.deploy.gguf_files:quantize_job", job,
                              what=f"llama.cpp quantizing {src} to {fmt}", error=GGUFError)
        except GGUFError as e:  # llama.cpp logs why before it returns 1 ("this quantization requires an imatrix!")
            reason = re.findall(r"failed to quantize: (.+)", getattr(e, "stderr", "") or "")
            if not reason:
                raise
            raise GGUFError(f"llama.cpp refused to quantize {src} to {fmt}: {reason[-1].strip()}") from None
        if not Path(tmp).exists():
            raise GGUFError(f"llama.cpp could not quantize {src} to {fmt}: it wrote no file")
    return Path(dst)


def quantize_job(job: dict) -> dict:
    """The child's side of `quantize`: llama.cpp's llama_model_quantize through llama-cpp-python's bindings."""
    import ctypes

    import llama_cpp

    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype, p.nthread, p.pure = job["ftype"], job["threads"], job["pure"]
    keep = []  # the ctypes buffers must outlive the call
    if job["imatrix"]:
        entries = (llama_cpp.llama_model_imatrix_data * (len(job["imatrix"]) + 1))()
        for i, (name, values) in enumerate(job["imatrix"].items()):
            data = (ctypes.c_float * len(values))(*values)
            keep += [name.encode(), data]
            entries[i].name, entries[i].data, entries[i].size = keep[-2], data, len(values)
        entries[len(job["imatrix"])].name = None  # the list ends with a null name
        p.imatrix = ctypes.cast(entries, ctypes.POINTER(llama_cpp.llama_model_imatrix_data))
        p.token_embedding_type = p.output_tensor_type = GGML_F16
    code = llama_cpp.llama_model_quantize(job["src"].encode(), job["dst"].encode(), ctypes.byref(p))
    if code != 0:
        sys.exit(f"llama_model_quantize returned {code}")
    return {}


# --- checks ---------------------------------------------------------------------------------------------

def check(path) -> dict:
    """Read a GGUF file's header and tensor table with the gguf package and check that every tensor's data lies
    inside the file. Returns {"tensors", "bytes", "architecture", "types"}; a missing, truncated or non-GGUF
    file raises GGUFError naming it."""
    path = Path(path)
    if not path.exists():
        raise GGUFError(f"{path}: no such GGUF file (run chapter 08's conversion first)")
    size = path.stat().st_size
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise GGUFError(f"{path}: not a GGUF file (it starts with {magic!r}, a GGUF file with b'GGUF')")
    import gguf

    try:
        reader = gguf.GGUFReader(path)
    except Exception as e:  # numpy's memmap or struct errors on a cut header or tensor table
        raise GGUFError(f"{path}: truncated or damaged: the gguf reader stopped in its header or tensor table "
                        f"({size:,} bytes; {type(e).__name__}: {e})") from None
    end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    if end > size:
        raise GGUFError(f"{path}: truncated: its tensors need {end:,} bytes, the file has {size:,}")
    arch = reader.fields.get("general.architecture")
    if not reader.tensors or arch is None:  # a header alone, or tensors without a model type, is not a model
        raise GGUFError(f"{path}: not a model: {len(reader.tensors)} tensors"
                        f"{'' if arch else ', no general.architecture'} (convert the model again)")
    types: dict[str, int] = {}
    for t in reader.tensors:
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    return {"tensors": len(reader.tensors), "bytes": size, "types": types,
            "architecture": bytes(arch.parts[-1]).decode() if arch else None}
