"""qa: extractive, cited answers over a collection of reports.

>>> from qa import Assistant
>>> a = Assistant.load()
>>> a.ask("How much humanitarian aid did Uzbekistan send to Ukraine?").short
'35 tons'
"""
from __future__ import annotations

import os

# Nothing may be fetched at run time; a missing model must fail at once, not retry for a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

__version__ = "0.1.0"


def __getattr__(name: str):  # lazy, so `qa --help` does not import torch
    if name == "Assistant":
        from qa.assistant import Assistant

        return Assistant
    if name == "build_index":
        from qa.indexer import build_index

        return build_index
    raise AttributeError(name)


__all__ = ["Assistant", "build_index", "__version__"]
