"""Report §6, evaluation (chapters 04-09): the Polish tasks, their data, metrics and baselines, and lm-eval's harness
running them on transformers models and GGUF files.
"""
