"""The checkable reply shape: its grammar, parsing, wording and the readable stream (qa/structured.py)."""

from __future__ import annotations

import json
import re

from qa.structured import BOUNDARY, YES_NO_WORDS, Reply, grammar, parse, readable, render


def _rules(gbnf: str) -> dict[str, str]:
    return dict(line.split(" ::= ", 1) for line in gbnf.splitlines())


def _spans(rules: dict[str, str], name: str) -> set[str]:
    """Every string rule `name` accepts, as the model writes it (the span rules are literal chains:
    small enough to enumerate)."""
    def from_rule(rule: str) -> set[str]:
        literal, _, rest = rules[rule].partition(" ")
        ch = json.loads(literal)  # GBNF literals escape as JSON does: this is what the model writes
        if not rest:
            return {ch}
        nxt, optional = rest.rstrip("?"), rest.endswith("?")
        return {ch + s for s in from_rule(nxt)} | ({ch} if optional else set())
    return set().union(*(from_rule(r.strip()) for r in rules[name].split("|")))


def test_a_quote_is_a_span_of_its_clause_between_punctuation():
    text = "补贴标准：每人2000元，最高3万元。"
    spans = _spans(_rules(grammar([text], yes_no=False)), "quote1")
    assert "补贴标准" in spans and "每人2000元" in spans and "最高3万元" in spans
    assert "每人2000元，最高3万元" in spans and text.rstrip("。") in spans
    assert all(s in text for s in spans)  # nothing outside the clause
    assert "每人2000" not in spans and "人2000元" not in spans  # no cut inside a phrase
    assert not any(s[0] in BOUNDARY for s in spans)


def test_quotes_escape_what_json_escapes():
    text = 'A"B\\C，D'
    spans = _spans(_rules(grammar([text], yes_no=False)), "quote1")
    assert 'A\\"B\\\\C' in spans  # the model writes the JSON escapes; json.loads gives the text back
    assert json.loads('"' + 'A\\"B\\\\C' + '"') == 'A"B\\C'


def test_root_offers_each_shown_clause_and_the_yes_no_words_only_when_asked():
    plain = _rules(grammar(["甲。", "乙。"], yes_no=False))["root"]
    assert '"1,\\"quote\\":\\"" quote1' in plain and '"2,\\"quote\\":\\"" quote2' in plain
    assert '"3,' not in plain and "answer" not in plain
    yes_no = _rules(grammar(["甲。"], yes_no=True))["root"]
    assert all(f'"{w}"' in yes_no for w in YES_NO_WORDS) and yes_no.index("quote") < yes_no.index("answer")
    assert re.fullmatch(r"[\w-]+", "quote1-0")  # llama.cpp rule names: letters, digits, dashes


def test_parse_reads_the_json_shape_and_leaves_plain_text_alone():
    assert parse('{"clause":2,"quote":"每人2000元","answer":"可以"}', 2) == Reply(2, "每人2000元", "可以")
    assert parse('好的：{"clause": 1, "quote": " 每人2000元 "}', 2) == Reply(1, "每人2000元", "")
    assert parse('{"clause": 9, "quote": "x"}', 2).clause == 9  # kept: verify reports it
    assert parse("朔州到2020年达到2.5%以上[1]。", 2) is None
    assert parse('{"clause": 1, "quote": "未闭合', 2) is None
    assert parse('{"clause": 2, "quote": "每人2000元，最高3万', 2) == Reply(2, "每人2000元")  # cut off by max_tokens
    assert parse('{"clause": "一", "quote": "x"}', 2) is None


def test_render_words_the_reply_with_markers_and_keeps_the_direct_word_for_yes_no_only():
    assert render(Reply(1, "到2020年达到2.5%以上。"), yes_no=False) == "到2020年达到2.5%以上[1]。"
    assert render(Reply(2, "男性不超过60周岁", "不可以"), yes_no=True) == "不可以，男性不超过60周岁[2]。"
    assert render(Reply(2, "男性不超过60周岁", "不可以"), yes_no=False) == "男性不超过60周岁[2]。"
    assert render(Reply(1, "甲。乙"), yes_no=False) == "甲[1]。乙[1]。"
    assert render(Reply(1, "甲", "也许"), yes_no=True) == "甲[1]。"  # not a yes/no word: dropped


def test_readable_shows_the_quote_as_it_is_copied():
    raw = '{"clause":1,"quote":"每人20'
    assert readable('{"clause":1') == "" and readable(raw) == "每人20"
    assert readable(raw + '00元","answer":"可以"}') == "每人2000元"
    assert readable('{"clause":1,"quote":"A\\"B') == 'A"B'
    assert readable("朔州到2020年") == "朔州到2020年"  # plain text streams as it is


def test_render_leaves_out_a_bracket_the_span_opened_and_never_closed():
    reply = Reply(1, "广州市高校毕业生就业指导中心（以下简称市高指中心")
    assert render(reply, False) == "广州市高校毕业生就业指导中心[1]。"
    assert render(Reply(1, "依照《某某办法》执行"), False) == "依照《某某办法》执行[1]。"
