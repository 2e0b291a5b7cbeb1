"""What every training stage shares: transformers' training arguments in the report's recipe, checkpoints that are
marked complete only once written, held-out curves, and throughput (tokens/s, MFU).
"""
