"""The book's machinery: scale presets, the chapter registry, a chapter's session, the papermill runner, the
`bielik` command, atomic artifacts, recorded figures, provenance, the machine check, Colab, the chapters' text
sources, the Jupyter Book build and its Sphinx extension, and the one way the package runs a child process.
"""
