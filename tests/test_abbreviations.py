"""Abbreviations spelled out from the corpus text (index/abbreviations.py) and the asker's own figures."""

from __future__ import annotations

from index.abbreviations import expand
from index.lexical import Tokenizer
from qa.refusal import RefusalPolicy

# Lines as 广州市民政局's 2025 notice writes them (../shared/field/parenthetical-false-unit).
TEXT = ("（一）全市城乡最低生活保障标准为每人每月1309元。\n"
        "（二）最低生活保障边缘家庭认定标准按最低生活保障标准的1.5倍确定，为每人每月1963.5元。\n"
        "对符合条件的对象，由区民政局办理公共租赁住房保障；公共租赁住房租金按规定减免。\n"
        "市火炬计划项目与星创天地建设另行规定。")


def test_an_abbreviation_is_spelled_out_by_the_phrase_the_corpus_writes():
    cut = Tokenizer().words
    assert expand("低保", TEXT, cut) == "最低生活保障"
    assert expand("公租房", TEXT, cut) == "公共租赁住房"


def test_a_chance_sequence_written_once_and_a_word_the_corpus_has_are_left_alone():
    cut = Tokenizer().words
    assert expand("火星", TEXT, cut) == ""  # 火炬计划…星创 once: chance, not an abbreviation
    assert expand("标准", TEXT, cut) == ""  # the corpus writes it: nothing to spell out
    assert expand("低", TEXT, cut) == ""


def test_an_abbreviation_written_in_passing_is_still_spelled_out_where_the_phrase_dominates():
    cut = Tokenizer().words
    once = TEXT + "\n见习人员为城乡低保家庭成员的，优先安排。"  # another document says 低保 once
    assert expand("低保", once, cut) == "最低生活保障"
    often = once + "\n低保对象按月领取。低保资金专款专用。"  # now the corpus writes 低保 as often as the phrase
    assert expand("低保", often, cut) == ""


def test_a_figure_about_the_asker_is_not_looked_for_in_the_documents():
    policy = RefusalPolicy.__new__(RefusalPolicy)
    assert policy.unstated_figure("我招了5个员工，创业带动就业补贴最多能拿多少？", []) is None
    assert policy.unstated_figure("补贴5个月吗？", []) == "5个"


class _Snapshot:
    """The three things spell_out reads from an index/snapshot.Snapshot."""

    def __init__(self, text: str) -> None:
        from types import SimpleNamespace

        self.clauses = [SimpleNamespace(text=line) for line in text.splitlines()]
        self.tokenizer = Tokenizer()
        self._memo: dict = {}

    def derived(self, key, build):
        return self._memo.setdefault(key, build())


def test_the_question_keeps_its_wording_and_gains_the_phrase_at_its_end():
    from index.abbreviations import spell_out

    snap = _Snapshot(TEXT + "\n第四部门分工负责。\n部门分工负责。")
    assert spell_out("低保标准一个月多少钱？", snap) == ("低保标准一个月多少钱？（低保：最低生活保障）", (("低保", "最低生活保障"),))
    # An everyday word is not an abbreviation, though 部门分工 would spell it out.
    assert spell_out("第四部分(一)1讲了什么？", snap) == ("第四部分(一)1讲了什么？", ())


def test_a_phrase_forbidding_what_the_question_asks_decides_the_yes_or_no():
    """浙江省见义勇为人员奖励和保障条例 第十五条 (../shared/data/laws.tar.gz), asked whether a hospital may refuse."""
    from qa.direct import settles

    sentence = "医疗单位对见义勇为受伤的人员应当及时组织抢救和治疗，不得以任何借口推诿、拒绝或者拖延。"
    assert settles(["医疗", "单位", "拒绝", "抢救", "见义勇为", "受伤"], sentence) is False
    assert settles(["医疗", "单位", "抢救", "见义勇为", "受伤"], sentence) is True  # asked whether it must treat
    assert settles(["财政", "资助"], "可采取后补助方式予以资助，资助资金不再规定适用范围。") is True
