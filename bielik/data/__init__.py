"""Report §3.1, data: the readers of data/, the split hash, the document pool, cleanup, stylometric features, the
quality labels and XGBoost classifier, the topic classifier and the filter that joins them (chapter 01), and the
Polish instructions the later chapters train on.
"""
