"""Report §3, continued pretraining (chapters 03-04): the Trainer on packed rows, the token mix of Polish,
English and instructions, and the run the chapter and the cluster job share.
"""
