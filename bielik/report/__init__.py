"""The report itself: its facts and tables (paper), chapter 00's pipeline figures (overview), and the ledger of its
claims against what the chapters measured.
"""
