"""Report §5, quantization and deployment (chapter 08): GGUF files made by llama.cpp's tools, run by llama.cpp, and
GPTQ with llm-compressor.
"""
