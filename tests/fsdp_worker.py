"""Run under `torchrun --nproc_per_node 2`: a tiny Llama sharded by FSDP2 (fully_shard, gloo on the CPU) is saved
by storage.save_model, which must gather the full weights; the main process checks them against the unsharded
model's and writes the result to OUT/result.json. Usage: fsdp_worker.py OUT"""
import json
import sys
from pathlib import Path

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from transformers import LlamaConfig, LlamaForCausalLM

from bielik.model import storage
from bielik.training.arguments import process_state

out = Path(sys.argv[1])
state = process_state()
torch.manual_seed(0)
model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True))
whole = {k: v.clone() for k, v in model.state_dict().items()}
mesh = init_device_mesh("cpu", (state.num_processes,))
for layer in model.model.layers:
    fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)
sharded = storage._is_sharded(model)
storage.save_model(model, out / "model")
if state.is_main_process:
    saved = storage.load_model(out / "model").state_dict()
    (out / "result.json").write_text(json.dumps({
        "processes": state.num_processes, "sharded": sharded, "tensors": len(whole),
        "different": [k for k in whole if not torch.equal(whole[k], saved[k])]}))
