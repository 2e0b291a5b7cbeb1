"""Report §4, post-training (chapters 05-07): the instruction set and SFT with WICEL and ALR, preference pairs and
DPO-Positive, merging with mergekit and the merged model's card.
"""
