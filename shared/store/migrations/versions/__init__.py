"""The revisions, named ``NNNN_what.py`` with revision id ``NNNN``."""
