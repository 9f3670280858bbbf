"""Answers people can use (issue #15, items 5 and 6): follow-ups that substitute, answers that open
with what was asked, quotes exactly as written, figures from the lines of the same item, and the
yes/no measurement of the eval."""

from __future__ import annotations

import pytest

from eval.answers import first_word, score_answer
from eval.harness import Question
from ingest.records import Clause, DocMeta, Hit
from qa.answer import Answer
from qa.direct import answer_words, figure_lead, lead, stance
from qa.extractive import brief_name, extractive_answer, is_heading, joined
from qa.followup import rewrite


@pytest.mark.parametrize(("previous", "follow_up", "standalone"), [
    # the topic is replaced, the asked attribute kept
    ("创业租金补贴的补贴标准是多少？", "那创业带动就业补贴呢？", "创业带动就业补贴的补贴标准是多少？"),
    ("创业租金补贴的补贴期限是多久？", "那优秀创业项目资助呢？", "优秀创业项目资助的补贴期限是多久？"),
    # the attribute is replaced, and the question word follows it
    ("一次性创业资助的补贴条件是什么？", "补贴标准呢？", "一次性创业资助的补贴标准是多少？"),
    ("创业租金补贴的补贴标准是多少？", "那补贴期限呢？", "创业租金补贴的补贴期限是多久？"),
    ("创业租金补贴的补贴标准是多少？", "申请条件呢？", "创业租金补贴的申请条件是什么？"),
    # no 的-attribute phrase: the phrase with the same head word, or the opening words
    ("阳泉对高新技术企业有什么奖励？", "那科技型中小企业呢？", "阳泉对科技型中小企业有什么奖励？"),
    ("我招了5个员工，创业带动就业补贴最多能拿多少？", "那创业租金补贴呢？", "我招了5个员工，创业租金补贴最多能拿多少？"),
    ("一次性创业资助需要满足什么条件？", "补贴标准呢？", "一次性创业资助的补贴标准是多少？"),
    ("阳泉的科技创新券怎么用？", "那申请材料呢？", "阳泉的科技创新券的申请材料是什么？"),
])
def test_follow_up_substitutes_the_part_of_the_same_kind(previous, follow_up, standalone):
    assert rewrite(follow_up, [previous], {}, []) == standalone


def test_follow_up_naming_a_document_replaces_the_document():
    docs = {"a": DocMeta("a", "甲市方案", region="山西省甲市", aliases=("甲市",)),
            "b": DocMeta("b", "乙市方案", region="山西省乙市", aliases=("乙市",))}
    assert rewrite("那乙市呢？", ["甲市的高新技术企业目标是多少？"], docs, []) == "乙市的高新技术企业目标是多少？"
    assert rewrite("补贴标准是多少？", ["甲市的补贴条件是什么？"], docs, []) == "补贴标准是多少？"  # not a follow-up


@pytest.mark.parametrize(("question", "words"), [
    ("县域企业申请专利有没有资助？", ("有", "没有")),
    ("能不能用来购买省外单位的科技服务？", ("可以", "不可以")),
    ("企业能拿到财政资助吗？", ("可以", "不可以")),
    ("只要没谋私利，会不会被追责？", ("会", "不会")),
    ("一定要跟高校合作吗？", ("需要", "不需要")),
])
def test_yes_no_question_wants_its_own_words(question, words):
    assert answer_words(question) == words


@pytest.mark.parametrize(("sentence", "said"), [
    ("向省外单位购买科技创新服务也可申报补助。", True),
    ("鼓励国有企业设立首席研究员、首席科学家等高级技术岗位。", True),
    ("未经登记，不得以市场主体名义从事经营活动。", False),
    ("财政不给予支付补贴，两年内不予认定为就业见习基地。", False),
    ("对不符合条件的不予支持。", False),  # a forbidding word wins
    ("（1）初创企业的法定代表人（女性不超过55周岁、男性不超过60周岁）符合以下条件之一：", None),
])
def test_stance_of_a_sentence(sentence, said):
    assert stance(sentence) is said


def test_lead_says_the_word_only_when_the_quote_settles_it():
    assert lead("科研人员能不能离岗创业？", [], ["支持科研人员携带科研项目和科技成果离岗创业。"]) == "可以。"
    assert lead("未经登记能不能经营？", [], ["未经登记，不得以市场主体名义从事经营活动。"]) == "不可以。"
    assert lead("62岁还能申请吗？", [], ["男性不超过60周岁。"]) == ""
    # a figure the question states is settled only by a sentence stating it, not by a general "可申请"
    assert lead("员工120人的企业能不能申请？", ["员工", "企业", "申请"], ["符合条件的企业可申请创新券。"]) == ""
    assert lead("员工120人的企业能不能申请？", ["员工", "企业", "申请"], ["在职员工100人以下的企业可申请。"]) == ""
    assert lead("投资1000万元的项目能不能申请奖励？", ["投资", "项目", "奖励"], ["投资1000万元以上的项目给予奖励。"]) == "可以。"


@pytest.mark.parametrize(("question", "terms", "said"), [
    ("采矿项目能不能享受投资奖励？", ["采矿", "项目", "享受", "投资", "奖励"], "不可以。"),  # only inside （不含…）
    ("住宅类项目能享受奖励吗？", ["住宅", "项目", "享受", "奖励"], "不可以。"),
    ("工业类项目能不能享受投资奖励？", ["工业", "项目", "享受", "投资", "奖励"], "可以。"),  # outside the carve-out
    ("国有企业可以申请吗？", ["国有企业", "申请"], "不可以。"),  # "…，国有企业除外"
])
def test_a_yes_no_question_about_what_a_clause_carves_out_gets_the_no(question, terms, said):
    sentences = ["对新上的工业类项目(不含采矿、矿产品初加工项目)，固定资产投资1000万元以上的，给予企业奖励；"
                 "对服务业类项目(不含住宅类项目)投资3000万元以上的，给予奖励。",
                 "符合条件的企业可以申请补贴，国有企业除外。"]
    quoted = [s for s in sentences if any(t in s for t in terms[:1])] or sentences[:1]
    assert lead(question, terms, quoted) == said


@pytest.mark.parametrize(("question", "terms", "sentence", "figure"), [
    ("租金补贴的补贴标准是多少？", ["租金", "补贴", "标准"], "补贴标准：每连续租满1年补贴6000元。", "6000元"),
    ("三等奖的项目资助是多少？", ["三等奖", "项目", "资助"], "补贴标准：一等奖20万元，二等奖15万元，三等奖10万元，优胜奖5万元。", "10万元"),
    ("招5个员工最多能拿多少补贴？", ["员工", "最多", "补贴"],
     "补贴标准：招用3人以下的按每人2000元给予补贴；招用4人以上的每增加1人给予3000元补贴，总额最高不超过3万元。", "最高不超过3万元"),
    ("比重目标是多少？", ["比重", "目标"], "R&D经费占GDP比重达到2.5%以上，高新技术企业达到100家。", "2.5%以上"),
    # a rate of money (经费 is a money word) asks for the percentage, not an amount
    ("R&D经费占GDP比重目标是多少？", ["经费", "比重", "目标"], "到2020年达到2.5%以上。", "2.5%以上"),
    # several figures and nothing in the question singles one out: the quote speaks alone
    ("补贴标准是多少？", ["补贴", "标准"], "补贴标准：招用3人以下的按每人2000元给予补贴；招用4人以上的每增加1人给予3000元补贴。", ""),
])
def test_figure_lead(question, terms, sentence, figure):
    assert figure_lead(question, terms, sentence) == figure


def _clause(cid: str, path: tuple[str, ...], text: str, doc_title: str = "广州市高校毕业生创业补贴的通知") -> Clause:
    return Clause(id=f"d#{cid}", doc_id="d", doc_title=doc_title, path=path, text=text, span=(0, len(text)),
                  region="广州市", kind="item")


ITEM = [
    _clause("3~1", ("3、创业租金补贴",), "3、创业租金补贴\n补贴条件："),
    _clause("3.(1)", ("3、创业租金补贴", "(1)"), "（1）初创企业租赁场地用于经营，相关场地非经营者自有物业。"),
    _clause("3~2", ("3、创业租金补贴",), "补贴对象：符合条件的创业者。\n补贴标准：每连续租满1年补贴6000元。\n补贴期限：累计不超过3年。"),
]


def test_amount_in_a_sibling_line_of_the_item_is_answered_from_that_line():
    """The heading clause ranks first; the figure is in the label lines of the same item."""
    hits = [Hit(ITEM[0], 1.0, 1), Hit(ITEM[1], 0.9, 2)]
    text, cited = extractive_answer("创业租金补贴的补贴标准是多少？", ["创业", "租金", "补贴", "标准"], hits, clauses=ITEM)
    assert text.startswith("6000元。")
    assert "“补贴标准：每连续租满1年补贴6000元。”[1]" in text
    assert [h.clause.id for h in cited] == ["d#3~2"]


def test_amount_question_takes_the_line_whose_figure_is_the_thing_asked_not_one_reckoned_from_it():
    """The derived line ranks first and holds every asked word twice; the line stating the amount wins."""
    notice = [_clause("1.(2)", ("一、", "(二)"), "（二）救助边缘家庭认定标准按救助标准的1.5倍确定，为每人每月1350元。"),
              _clause("1.(1)", ("一、", "(一)"), "（一）全市城乡救助标准为每人每月900元。")]
    hits = [Hit(notice[0], 1.0, 1), Hit(notice[1], 0.9, 2)]
    text, cited = extractive_answer("救助标准一个月多少钱？", ["救助", "标准", "一个月"], hits, clauses=notice)
    assert text.startswith("900元。")
    assert [h.clause.id for h in cited] == ["d#1.(1)"]


def test_quotes_are_sentences_as_written_and_name_the_document_briefly():
    clause = _clause("2", ("一、总则", "2."), "2.实施补贴行动。支持企业实施20项示范项目；认定10个示范企业\n（市科技局牵头）",
                     doc_title="关于贯彻落实某某省关于某某战略纲要的实施方案的意见（征求意见稿）")
    text, _ = extractive_answer("补贴行动包括什么？", ["补贴", "行动"], [Hit(clause, 1.0, 1)])
    # a heading goes on with the sentences under it; "认定10个示范企业" ends without 。 in the document
    assert text == "广州市：“2.实施补贴行动。支持企业实施20项示范项目；认定10个示范企业”[1]"
    assert "《" not in text and "›" not in text


def test_brief_name_prefers_a_short_name_then_a_short_title_then_the_region():
    clause = ITEM[0]
    assert brief_name(DocMeta("d", "长标题", aliases=("阳泉意见", "阳泉")), clause) == "阳泉"
    assert brief_name(None, _clause("x", ("1",), "x", doc_title="广州市就业见习基地管理办法")) == "《广州市就业见习基地管理办法》"
    assert brief_name(None, _clause("x", ("1",), "x", doc_title="广州市民政局 广州市财政局关于印发我市最低生活保障标准的通知")) == "广州市"


@pytest.mark.parametrize(("sentence", "heading"), [
    ("3、创业租金补贴", True), ("补贴条件：", True), ("2.实施“215”科技成果转化行动。", True),
    ("2020年达到100家。", False), ("第十三条 见习基地实行动态管理。", False),
])
def test_heading_shapes(sentence, heading):
    assert is_heading(sentence) is heading


def test_yes_no_first_word_is_scored_from_the_gold_word():
    q = Question("q", "subsidy", "科研人员能不能离岗创业？", ("离岗创业",), answer_must=("离岗创业",), yes_no="可以")
    right = score_answer(q, Answer(q.question, "可以。\n阳泉：“支持科研人员携带科研项目和科技成果离岗创业。”[1]"))
    quote_only = score_answer(q, Answer(q.question, "阳泉：“支持科研人员携带科研项目和科技成果离岗创业。”[1]"))
    wrong = score_answer(q, Answer(q.question, "不可以[1]。"))
    assert (right.yes_no_ok, quote_only.yes_no_ok, wrong.yes_no_ok) == (True, False, False)
    assert first_word("可以[1]。") == "可以" and first_word("有，见[1]") == "有"
    plain = Question("p", "subsidy", "补贴标准是多少？", ("x",), answer_must=("x",))
    assert score_answer(plain, Answer(plain.question, "x")).yes_no_ok is None


@pytest.mark.parametrize(("written", "quoted"), [
    ("对工业类项目(不含采矿、矿 产品初加工)，投资强度不低于200 万元的，给予奖励。", "对工业类项目(不含采矿、矿产品初加工)，投资强度不低于200万元的，给予奖励。"),
    ("设立引导资金， 列入县财政预算，实行“ 一事一议”。", "设立引导资金，列入县财政预算，实行“一事一议”。"),
    ("中共某县委 某县人民政府", "中共某县委 某县人民政府"),  # no sentence punctuation: a title line keeps its space
    ("第一条 为了规范管理，制定本办法。", "第一条 为了规范管理，制定本办法。"),  # the space after the opening number
    ("This is English, kept as is.", "This is English, kept as is."),
])
def test_quotes_close_the_stray_spaces_typesetting_leaves_in_prose(written, quoted):
    clause = _clause("1", ("1",), written)
    assert joined(clause, [written]) == quoted


def test_a_when_question_takes_the_sentence_that_states_a_time():
    notice = [_clause("18", ("六、",), "18.各项奖励政策如与国家政策相抵触，按国家和上级文件规定执行。"),
              _clause("20", ("六、",), "20.不得重复享受奖励。\n本政策由县领导小组负责解释，自2019年1月1日起执行，暂定三年。")]
    hits = [Hit(notice[0], 1.0, 1), Hit(notice[1], 0.9, 2)]
    text, cited = extractive_answer("奖励政策什么时候开始执行？", ["奖励", "政策", "开始", "执行"], hits, clauses=notice)
    assert [h.clause.id for h in cited] == ["d#20"] and "2019年1月1日起执行" in text


def test_a_clause_number_several_documents_have_lists_each_instead_of_guessing():
    a = Clause(id="a#第三条", doc_id="a", doc_title="某市就业见习基地管理办法", path=("第三条",),
               text="第三条 市人社局是主管部门。", span=(0, 14), kind="article")
    copy = Clause(id="a2#第三条", doc_id="a2", doc_title="某市就业见习基地管理办法", path=("第三条",),
                  text="第三条 市人社局是主管部门。", span=(0, 14), kind="article")  # the same document saved twice
    b = Clause(id="b#第一章.第三条", doc_id="b", doc_title="市场主体登记管理条例", path=("第一章", "第三条"),
               text="第三条 市场主体应当依照本条例办理登记。", span=(0, 20), kind="article")
    other = Clause(id="a#第四条", doc_id="a", doc_title="某市就业见习基地管理办法", path=("第四条",),
                   text="第四条 申请条件。", span=(0, 9), kind="article")
    hits = [Hit(c, 1.0 - i / 10, i + 1) for i, c in enumerate([a, copy, b, other])]
    text, cited = extractive_answer("第三条是怎么规定的？", [], hits, exact=True)
    assert text.startswith("多份文件都有第三条")
    assert [h.clause.id for h in cited] == ["a#第三条", "b#第一章.第三条"]
    assert "《市场主体登记管理条例》：“第三条 市场主体应当依照本条例办理登记。”[2]" in text
    single, cited = extractive_answer("第四条是怎么规定的？", [], [Hit(other, 1.0, 1), Hit(a, 0.5, 2)], exact=True)
    assert [h.clause.id for h in cited] == ["a#第四条"] and "多份" not in single
