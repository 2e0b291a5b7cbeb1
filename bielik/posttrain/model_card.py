"""A model card (README.md with YAML metadata) for a merged model, in the shape of the Bielik cards: what the
model is, what it was merged from and how (the mergekit YAML), its scores, how to use it and what it cannot do.
The metadata block is huggingface_hub's ModelCardData, so the Hub reads it (model-index for the scores)."""
from __future__ import annotations

from pathlib import Path

USAGE = '''```python
from transformers import AutoModelForCausalLM, AutoTokenizer

tok = AutoTokenizer.from_pretrained("{path}")
model = AutoModelForCausalLM.from_pretrained("{path}")
messages = [{{"role": "user", "content": "Co przedstawia polskie godło?"}}]
ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
out = model.generate(**ids, max_new_tokens=64, eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"))
print(tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True))
```'''


def card(*, model_name: str, parts: list[str], method: str, merge_yaml: str, scores: dict[str, float],
         average: float, scale: str, parameters: int, description: str, limitations: list[str], version: str,
         path: str = "path/to/model"):
    """A huggingface_hub ModelCard. `parts` name the merged models; `scores` are harness task -> normalised score
    (0-shot) and `average` their mean, as chapter 09 computes them."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    results = [EvalResult(task_type="text-generation", dataset_type=f"bielik-book/{task}", dataset_name=task,
                          metric_type="normalised_score", metric_name="normalised score, 0-shot",
                          metric_value=round(float(value), 2))
               for task, value in scores.items()]
    data = ModelCardData(model_name=model_name, language=["pl"], library_name="transformers",
                         pipeline_tag="text-generation", tags=["merge", "mergekit", "bielik-book", "polish", method],
                         base_model=parts, license="other", license_name="data-sources",
                         license_link="data/SOURCES.md", eval_results=results)
    table = "\n".join(f"| {task} | {value:.1f} |" for task, value in scores.items())
    body = f"""
# {model_name}

{description}

- **Built by:** the notebooks of the Bielik 11B v2 reproducibility book, at scale `{scale}` (package version {version})
- **Architecture:** Mistral-type decoder, {parameters:,} parameters
- **Language:** Polish (and some English)
- **Merge method:** {method}, of {len(parts)} models: {", ".join(f"`{p}`" for p in parts)}

## Merge configuration (mergekit)

```yaml
{merge_yaml.rstrip()}
```

## Evaluation

The book's Polish tasks (lm-evaluation-harness, 0-shot), normalised as the Open PL LLM Leaderboard does: 0 is the
best constant answer, 100 a perfect score. These are not the leaderboard's test sets.

| task | score |
|---|---|
{table}
| **average** | **{average:.1f}** |

## How to use

{USAGE.format(path=path)}

## Limitations

""" + "\n".join(f"- {line}" for line in limitations) + "\n"
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def write(folder, model_card) -> Path:
    """Save the card as the folder's README.md, atomically."""
    from bielik.book.artifacts import write_text

    return write_text(Path(folder) / "README.md", str(model_card))
