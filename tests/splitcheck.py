"""Property checks every split must pass, shared by the seed, field and synthetic splitter tests."""

from __future__ import annotations

import re

from policyqa.text import normalize
from ingest.records import Document
from ingest.splitter import layout_of, split_document, structure_markers

_WS = re.compile(r"\s+")


def assert_partition(doc: Document, clauses) -> None:
    """Nothing lost or duplicated: every non-space character is in exactly one clause, in reported
    furniture, or on a heading-only marker line; a clause shows its span minus furniture."""
    layout = layout_of(doc)
    view = layout.view(normalize(doc.text))
    removed = [0] * len(doc.text)
    for f in layout.removed:
        assert doc.text[f.span[0] : f.span[1]] == f.text, f
        for i in range(*f.span):
            removed[i] = 1
    covered = [0] * len(doc.text)
    for c in clauses:
        assert c.text == layout.render(doc.text, *c.span), c.id
        kept = "".join(ch for i, ch in enumerate(doc.text[c.span[0] : c.span[1]], c.span[0]) if not removed[i])
        assert _WS.sub("", c.text) == _WS.sub("", kept), f"{c.id}: text is not its span minus furniture"
        for i in range(*c.span):
            covered[i] += 1
    assert max(covered, default=0) <= 1, "a character belongs to two clauses"
    markers, _ = structure_markers(view)
    marker_lines = {view[m.start : m.line_end].strip() for m in markers}
    loose = "".join(ch if not covered[i] and not removed[i] else "\n" for i, ch in enumerate(view))
    for line in loose.split("\n"):
        if line.strip():
            assert line.strip() in marker_lines, f"text outside every clause: {line!r}"
            assert len(line.strip()) <= 40


_END = re.compile(r"[。！？；;!?\n]")


def assert_no_mid_sentence_start(doc: Document, clauses, limit: int = 400) -> None:
    """Each clause starts at a line start or after a sentence end, as a reader sees the text. Only a
    later part of a long provision may start inside a sentence: after a comma (the cut found no
    sentence end in its window) or anywhere in a sentence longer than the clause limit."""
    view = layout_of(doc).view(normalize(doc.text))
    for c in clauses:
        before = view[: c.span[0]].rstrip(" ")
        if c.part > 1 and re.search(r"[，,、:]$", before):
            continue
        if c.part > 1:
            sentence_start = max((m.end() for m in _END.finditer(view, max(0, c.span[0] - 4 * limit), c.span[0])),
                                 default=max(0, c.span[0] - 4 * limit))
            after = _END.search(view, c.span[0])
            if (after.start() if after else len(view)) - sentence_start > limit:
                continue
        assert before == "" or before.endswith("\n") or re.search(r"[。！？；;!?][”’\"')）]*$", before), c.id


def assert_ids_stable(doc: Document, clauses) -> None:
    """Ids are unique, and splitting the document again gives the same ids."""
    ids = [c.id for c in clauses]
    assert len(set(ids)) == len(ids)
    assert [c.id for c in split_document(doc)] == ids


def assert_all_properties(doc: Document, clauses) -> None:
    """Every property above."""
    assert_partition(doc, clauses)
    assert_no_mid_sentence_start(doc, clauses)
    assert_ids_stable(doc, clauses)
