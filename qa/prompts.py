"""Prompt files: text in prompts/ with a header that declares its variables.

    # variables: question, clauses
    # role: system            <- optional; lines up to the first blank line are the header
    (blank line)
    the template, using {question} and {clauses}

Rendering checks the declared names against the template and the values given: a missing value
fails and lists missing, required and provided names. The file's sha256 travels with every answer
and eval row, so a result can be traced to the exact prompt text.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from pathlib import Path

from policyqa.errors import PolicyQAError


class PromptError(PolicyQAError):
    """A prompt file is malformed or was rendered with missing values."""


@dataclass(frozen=True)
class Prompt:
    """One prompt file: its name, declared variables, template body and content hash."""

    name: str
    variables: tuple[str, ...]
    template: str
    sha256: str

    def render(self, **values: object) -> str:
        """Fill the template; every declared variable must be given."""
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise PromptError(
                f"prompt '{self.name}' is missing {', '.join(missing)} "
                f"(required: {', '.join(self.variables)}; provided: {', '.join(sorted(values)) or 'nothing'})"
            )
        return self.template.format(**{v: values[v] for v in self.variables})

    @property
    def short_hash(self) -> str:
        """First 12 hex digits of the file hash, as recorded in answers."""
        return self.sha256[:12]


def load_prompt(path: Path) -> Prompt:
    """Read and validate one prompt file: declared variables must match the template's fields."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PromptError(f"cannot read prompt file {path}: {exc}") from exc
    text = raw.decode("utf-8")
    header, _, body = text.partition("\n\n")
    m = re.search(r"^#[ \t]*variables:[ \t]*(.*)$", header, re.M)
    if not m:
        raise PromptError(f"prompt file {path} has no '# variables: …' header line")
    declared = tuple(v.strip() for v in m.group(1).split(",") if v.strip())
    used = {field for _, field, _, _ in string.Formatter().parse(body) if field}
    if used != set(declared):
        raise PromptError(f"prompt file {path} declares {sorted(declared)} but its template uses {sorted(used)}")
    return Prompt(path.stem, declared, body.strip("\n"), hashlib.sha256(raw).hexdigest())


class PromptLibrary:
    """The prompts folder, read once per file."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._cache: dict[str, Prompt] = {}

    def get(self, name: str) -> Prompt:
        """The prompt `name` (file `name.txt` in the folder)."""
        if name not in self._cache:
            path = self.folder / f"{name}.txt"
            if not path.is_file():
                raise PromptError(f"prompt '{name}' not found: expected {path}")
            self._cache[name] = load_prompt(path)
        return self._cache[name]
