"""Domain exceptions: each names what failed, the offending value, and the next step."""

from __future__ import annotations


class PolicyQAError(Exception):
    """Base class for every error the CLI, API and UI report to a user."""


class IngestError(PolicyQAError):
    """A document could not be read or split (bad encoding, binary, unreadable PDF, too large)."""

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        self.path = path
        self.problem = problem
        self.hint = hint
        message = f"{path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class IndexFolderError(PolicyQAError):
    """An index folder is missing, corrupt, or was built with other settings."""


class IndexMismatchError(IndexFolderError):
    """The index on disk was built with another model or format version."""


class QuestionError(PolicyQAError):
    """A question is empty, too long, or otherwise unusable."""


class GeneratorError(PolicyQAError):
    """A generator (local LLM or remote endpoint) failed or timed out."""


class BusyError(PolicyQAError):
    """The generation queue is full; the caller should retry later."""


class ModelMissingError(PolicyQAError):
    """A model file or folder that set-up should have built is not there."""


class UploadError(PolicyQAError):
    """An uploaded file was refused: bad name, type, size or content. The message is for the user (Chinese)."""


class UploadTooLargeError(UploadError):
    """An upload is over the size limit (HTTP 413); the message names the limit and the setting."""


class AuthError(PolicyQAError):
    """A corpus change (upload, delete) came without the admin token or with a wrong one (HTTP 401)."""


class ChangesDisabledError(AuthError):
    """Corpus changes are switched off: the app listens beyond localhost and no admin token is set (HTTP 403)."""


class NotFoundError(PolicyQAError):
    """A document, unit or place named in a request is not in the index."""


class EngineError(PolicyQAError):
    """The index engine (a Milvus server or Lite file) could not be reached or refused an operation."""


class EngineBusyError(EngineError):
    """A Milvus Lite file is open in another process (one process per file); the message says what to do."""
