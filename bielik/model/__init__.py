"""The model: the tokenizer with its chat tokens (chapter 02), the Mistral architecture at every scale, depth
up-scaling (chapter 03), saving and loading model folders, and talking to a model through its chat template.
"""
