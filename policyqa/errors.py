"""Domain exceptions. Each carries what failed, the offending value and the next step as fields; the
faces word them (faces/errors.py: an English line for the CLI, JSON with a status for the API, Chinese
for the UI).

Fields of every PolicyQAError:
    message  English: what failed ("no document matches '阳泉'")
    value    the offending input (a name, a path, a size in bytes), or None
    hint     English: what to do next ("run `policyqa build`")
    zh       the same for a Chinese reader, problem and next step in one sentence, or "" when only the
             English exists (operator errors: model files, index folders)
`str(error)` is the English message with its hint.
"""

from __future__ import annotations


class PolicyQAError(Exception):
    """Base class for every error the CLI, API and UI report to a user."""

    def __init__(self, message: str, *, value: object = None, hint: str = "", zh: str = "") -> None:
        self.message = message
        self.value = value
        self.hint = hint
        self.zh = zh
        super().__init__(f"{message}; {hint}" if hint else message)

    def fields(self) -> dict:
        """{kind, message, value, hint, zh}: the error as data (the API's JSON body adds `error`)."""
        value = self.value if self.value is None or isinstance(self.value, (int, float, bool)) else str(self.value)
        return {"kind": type(self).__name__, "message": self.message, "value": value, "hint": self.hint,
                "zh": self.zh}


class IngestError(PolicyQAError):
    """A document could not be read or split (bad encoding, binary, unreadable PDF, too large).
    `path` (also `value`) is the file, `problem` (also `message`) what is wrong with it."""

    def __init__(self, path: str, problem: str, hint: str = "", zh: str = "") -> None:
        self.path = path
        self.problem = problem
        super().__init__(problem, value=path, hint=hint, zh=zh)
        self.args = (f"{path}: {problem}" + (f" ({hint})" if hint else ""),)


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
    """An uploaded file was refused: bad name, type, size or content."""


class UploadTooLargeError(UploadError):
    """An upload is over the size limit (HTTP 413); the message names the limit and the setting."""


class AuthError(PolicyQAError):
    """A corpus change (upload, delete) came without the admin token or with a wrong one (HTTP 401)."""


class ChangesDisabledError(AuthError):
    """Corpus changes are switched off: the app listens beyond localhost and no admin token is set (HTTP 403)."""


class NotFoundError(PolicyQAError):
    """A document, unit or place named in a request is not in the index (HTTP 404 on every API path).
    `what` is "document", "unit" or "place"; `value` the name asked for."""

    def __init__(self, message: str, *, what: str = "", value: object = None, hint: str = "", zh: str = "") -> None:
        self.what = what
        super().__init__(message, value=value, hint=hint, zh=zh)

    def fields(self) -> dict:
        """The base fields plus `what` (document, unit or place)."""
        return {**super().fields(), "what": self.what}


class AmbiguousError(PolicyQAError):
    """A name in a request matches several documents or units; `value` is the name, `choices` the matches."""

    def __init__(self, message: str, *, value: object = None, choices: tuple[str, ...] = (), hint: str = "",
                 zh: str = "") -> None:
        self.choices = tuple(choices)
        super().__init__(message, value=value, hint=hint, zh=zh)

    def fields(self) -> dict:
        """The base fields plus `choices`."""
        return {**super().fields(), "choices": list(self.choices)}


class EngineError(PolicyQAError):
    """The index engine (a Milvus server or Lite file) could not be reached or refused an operation."""


class EngineBusyError(EngineError):
    """A Milvus Lite file is open in another process (one process per file); the message says what to do."""
