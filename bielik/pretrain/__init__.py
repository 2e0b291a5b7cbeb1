"""Report §3, continued pretraining (chapters 03-04): packing documents into sequences, the Trainer on packed rows,
the token mix, and the run the chapter and the cluster job share.
"""
