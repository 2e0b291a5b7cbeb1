"""Talk to a model through its chat template (chapters 05-09): greedy replies that stop at <|im_end|>."""
from __future__ import annotations

import torch


@torch.no_grad()
def reply(model, tok, messages: list[dict], max_new_tokens: int = 64) -> str:
    """The assistant's next turn after `messages`, decoded without special tokens."""
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    ids = {k: v.to(model.device) for k, v in ids.items()}
    model.eval()
    out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False,
                         eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"), pad_token_id=tok.pad_token_id)
    return tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True).strip()


def replies(model, tok, questions: list[str], max_new_tokens: int = 64) -> list[str]:
    return [reply(model, tok, [{"role": "user", "content": q}], max_new_tokens) for q in questions]
