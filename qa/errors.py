"""Every error qa raises on purpose. The edges (CLI, web app) turn these into messages;
the library never prints them itself."""
from __future__ import annotations


class QAError(Exception):
    """Base class: a problem the user can act on. ``str(err)`` is the message to show."""


class BadQuestion(QAError):
    """The question cannot be answered as asked (empty, too long, not text)."""


class IndexMissing(QAError):
    """No index has been built in the given folder."""


class IndexCorrupt(QAError):
    """A file of the index is missing, truncated or altered."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class IndexMismatch(QAError):
    """The index was built with another model, format or settings than the ones asked for."""


class IndexBusy(QAError):
    """Another process is building the index right now."""


class UnreadableDocument(QAError):
    """A source file could not be turned into text (skipped, with the reason)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ModelUnavailable(QAError):
    """The embedding model cannot be loaded offline."""


class BadSettings(QAError):
    """A setting has a value qa cannot use (e.g. an unknown vector index kind)."""


class VectorStoreError(QAError):
    """The vector store named by ``QA_STORE`` (Milvus) is misconfigured, unreachable or failed."""


class DocumentNotFound(QAError):
    """``qa remove`` / ``qa docs`` named a document that is not in the collection (or several)."""


class DocumentConflict(QAError):
    """``qa add`` would overwrite a different file of the same name, or duplicate one already there."""


class NoDocuments(QAError):
    """The documents folder holds nothing that can be indexed (an index needs at least one passage)."""
