"""FAQ retrieval and the answer policy (repeat window, rate limit, length cap, labels)."""
from __future__ import annotations

import pytest

from components.config import load_params
from serving.answers import FAQ, Answerer, FAQError, cap, load_faq

PARAMS = load_params()["serving"]["answer"]
FAQ_YAML = """
- questions: ["방송 몇 시까지 해요?", "언제까지 방송해요?"]
  answer: "보통 새벽 1시까지 해요!"
- questions: ["마이크 뭐 써요?", "마이크 어떤 거예요?"]
  answer: "슈어 SM7B 써요."
"""


@pytest.fixture
def faq(tmp_path):
    path = tmp_path / "faq.yaml"
    path.write_text(FAQ_YAML, encoding="utf-8")
    return load_faq(path)


@pytest.mark.parametrize("question, index", [("방송 몇시까지 하세요??", 0), ("언제까지 방송 해요", 0),
                                             ("마이크 뭐써요", 1), ("오늘 저녁 뭐 먹어요?", None)])
def test_faq_match(faq, question, index):
    match = FAQ(faq, PARAMS["faq_threshold"]).match(question)
    assert (match[0] if match else None) == index


def test_policy_repeat_rate_limit_and_labels(faq):
    now = [0.0]
    params = dict(PARAMS, per_minute=3)
    a = Answerer(params, faq, clock=lambda: now[0])
    assert a.plan("c", "방송 몇 시까지 해요?", "question").answer == "보통 새벽 1시까지 해요!"
    assert a.plan("c", "언제까지 방송해요?", "question").reason == "repeat"   # same entry
    assert a.plan("other", "언제까지 방송해요?", "question").source == "faq"  # other channel
    assert a.plan("c", "이 게임 이름이 뭐예요?", "question").source == "model"
    assert a.plan("c", "이 게임 이름이 뭐예요?", "question").reason == "repeat"
    assert a.plan("c", "몇 살이에요?", "question").source == "model"
    assert a.plan("c", "키 몇이에요?", "question").reason == "rate_limited"
    assert a.plan("c", "시발 뭐하냐?", "toxic").reason == "never answer toxic"
    assert a.plan("c", "bit.ly 가입?", "spam").reason == "never answer spam"
    now[0] = PARAMS["repeat_window_s"] + 1
    assert a.plan("c", "언제까지 방송해요?", "question").source == "faq"


def test_cap():
    assert cap("가" * 300, 200) == "가" * 199 + "…"
    assert cap(" 짧은   답 ", 200) == "짧은 답"


@pytest.mark.parametrize("body, message", [
    ("- questions: []\n  answer: x\n", "entry 0: 'questions'"),
    ("- questions: [a]\n", "entry 0: 'answer'"),
    ("{a: 1}", "expected a list"),
    ("- [unclosed", "not valid YAML"),
])
def test_bad_faq_is_a_clear_error(tmp_path, body, message):
    path = tmp_path / "faq.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(FAQError, match=message):
        load_faq(path)
    with pytest.raises(FAQError, match="cannot read"):
        load_faq(tmp_path / "missing.yaml")


def test_unreadable_model_answers_are_not_sent():
    """Degenerate generations seen from small models are dropped, not sent to the chat."""
    from serving.answers import readable_answer
    for bad in ("", "  ", "question", "Spam.", "키는 1000000000000000000000", "주로주로주로주로 오버워치 해요!",
                "가끔 마인크래프트 게임 마이크 보다가 가끔 마인크래프트 게임 마이크"):
        assert not readable_answer(bad), bad
    for good in ("키마로 해요.", "보통 새벽 1시까지 해요!", "100레벨이에요 ㅎㅎ",
                 "방송은 매일 밤 9시부터 새벽 1시까지, 주말은 밤 9시부터 해요"):
        assert readable_answer(good), good


def test_ungrounded_answers_are_withheld():
    """A value the card does not hold is not sent; facts copied from it and "I don't know" are."""
    from serving.answers import unsendable
    card = "스트리머 감자. 매일 밤 9시부터 새벽 1시까지 방송. 주 게임 리그 오브 레전드. 마이크 슈어 SM7B."
    q = "몇 시까지 방송해요?"
    for answer, reason in (("방송은 새벽 1시까지입니다.", ""), ("마이크는 슈어 SM7B 써요", "not what was asked"),
                           ("카드에 없는 내용이라 잘 모르겠어요.", ""),
                           ("오늘 새벽 3시까지 해요", "a number not in the card or chat"),
                           ("2020년 1월 1일 기준입니다.", "a number not in the card or chat"),
                           ("사무실에서 보내드려요.", "nothing from the card or chat"),
                           ("몇 시까지 방송해요?", "echoes the question"),
                           ("question", "not readable")):
        assert unsendable(answer, q, card) == reason, answer
    assert unsendable("오늘 새벽 3시까지 해요", q, card, grounded=False) == ""
    assert unsendable("3판 남았어요", "몇 판 남았어요?", "", recent=["3판만 더 하고 끔"]) == ""
    recent = ["ㅋㅋㅋㅋ", "마크 ㄱㄱ", "안녕하세요"]          # a viewer's line is not an answer
    assert unsendable("마크 ㄱㄱ!", "무슨 게임 해요?", card, recent=recent) == "repeats the chat"
    chat = ["ㅋㅋㅋㅋ 방금 개웃기네", "에임 미쳤다"]             # nor inside an answer
    assert unsendable("고양이 이름은 에임 미쳤다!", "고양이 이름이 뭐예요?", card, chat) == "repeats the chat"
    assert unsendable("응답: 방금 개웃기네.", "OBS 설정 어떻게 하셨어요?", card, chat) == "repeats the chat"
    assert unsendable("오늘은 마크 해요", "무슨 게임 해요?", card + " 마크", recent=recent) == ""


CARDS = {   # one card in the layouts streamers write: prose, and lists as components.cardqa makes
    "prose": "스트리머 감자. 매일 밤 9시부터 새벽 1시까지 방송. 주 게임 리그 오브 레전드. 마이크 슈어 SM7B. "
             "카메라 로지텍 C920. 디스코드 서버 있음(구독자 전용).",
    "colon": "방장: 감자, 방송 시간: 매일 밤 9시~새벽 1시, 게임: 리그 오브 레전드, 마이크: 슈어 SM7B, "
             "웹캠: 로지텍 C920, 디코: 구독자 전용 링크",
    "brackets": "[스트리머] 감자 | [방송] 매일 밤 9시~새벽 1시 | [주 게임] 리그 오브 레전드 | [마이크] 슈어 SM7B | "
                "[캠] 로지텍 C920 | [디스코드] 구독자 전용 링크",
    "lines": "닉네임 - 감자\n방송시간 - 매일 밤 9시~새벽 1시\n게임 - 리그 오브 레전드\n마이크 - 슈어 SM7B\n"
             "카메라 - 로지텍 C920\n디코 - 구독자 전용 링크",
}


@pytest.mark.parametrize("layout", sorted(CARDS))
@pytest.mark.parametrize("question, answer, reason", [
    ("마이크 뭐 써요?", "마이크는 슈어 SM7B 써요!", ""),
    ("무슨 게임 해요?", "리그 오브 레전드 해요~", ""),
    ("캠 뭐예요?", "로지텍 C920 써요", ""),                     # the card may say 카메라 or 웹캠
    ("디스코드 어떻게 들어가요?", "구독자 전용이에요!", ""),
    ("몇 시까지 방송해요?", "새벽 1시까지 해요!", ""),
    ("방종 언제 해요?", "새벽 1시에 끝나요", ""),                 # a time, asked without the card's key
    ("누구 방송이에요?", "감자님 방송이에요!", ""),
    ("고양이 이름이 뭐예요?", "고양이 이름은 슈어입니다", "not what was asked"),   # the microphone
    ("카메라 뭐 써요?", "슈어 SM7B 쓰고 있어요~", "not what was asked"),
    ("이 노래 제목 뭐예요", "리그 오브 레전드입니다", "not what was asked"),
    ("굿즈 언제 나와요", "굿즈는 슈어 SM7B입니다!", "not what was asked"),
    ("마이크 뭐 써요?", "로지텍 C920 써요", "not what was asked"),
    ("방종 언제 해요?", "새벽 1시까지, 마이크는 슈어 SM7B 써요", "not what was asked"),  # plus another line
    ("몇 시에 시작해요?", "밤 9시부터 해요!", ""),
    ("몇 시에 시작해요?", "새벽 1시부터 시작이에요", "the card's times swapped"),  # the card's end
    ("몇 시까지 해요?", "밤 9시까지 해요", "the card's times swapped"),
    ("방종 언제 해요?", "방송은 새벽 1시부터 새벽 1시까지입니다.", "the card's times swapped"),
    ("DLC도 살 거예요?", "DLC는 없어요.", "nothing from the card or chat"),   # a claim, not "I don't know"
    ("이 게임 한글 지원 돼요?", "지원 안 돼요.", "nothing from the card or chat"),
    ("어디 사세요?", "사적인 질문은 답해드리기 어려워요 ㅎㅎ", ""),
])
def test_answers_off_the_question_topic_are_withheld(layout, question, answer, reason):
    """A card value is sent only under the question's topic: the card's clause holding it
    names what was asked (a question word, an alias, a time), in every card layout."""
    from serving.answers import unsendable
    assert unsendable(answer, question, CARDS[layout]) == reason


def test_abstaining_is_saying_so_not_denying():
    """ABSTAIN finds the "I don't know" answers the model is trained on (components.cardqa),
    not a claim that something does not exist."""
    from components.cardqa import PRIVATE, UNKNOWN
    from serving.answers import ABSTAIN
    for answer in (*UNKNOWN, *PRIVATE, "아직은 모르겠어요.", "카드에 없는 내용이에요", "그건 정보가 없어요",
                   "그런 내용은 없어요", "잘 몰라요"):
        assert ABSTAIN.search(answer), answer
    for answer in ("DLC는 없어요.", "카페는 없어요!", "휴방은 없어요", "그래픽카드는 없어요", "공지 내용 없이 3시까지 해요"):
        assert not ABSTAIN.search(answer), answer


def test_without_a_card_the_question_grounds_an_answer():
    from serving.answers import unsendable
    assert unsendable("점심은 든든하게 드세요", "점심 뭐 먹을까요?") == ""
    assert unsendable("점심은 든든하게 드세요", "점심 뭐 먹을까요?", CARDS["prose"]) == \
        "nothing from the card or chat"


def test_the_prompt_written_on_is_not_readable():
    from serving.answers import PROMPT_HEADERS, readable_answer
    assert PROMPT_HEADERS == ("채널 정보:", "최근 채팅:", "질문:")
    assert not readable_answer("마우스 파이널마우스 쓰고 있어요\n최근 채팅:\n- 피파 선방 이걸 사네")
    assert readable_answer("마우스는 파이널마우스 쓰고 있어요!")
    assert readable_answer("좋은 질문: 슈어 SM7B 써요")      # a header only opens a line


@pytest.mark.parametrize("card, question, answer, reason", [
    ("[방송 일정]\n밤 9시 - 방송 시작\n새벽 1시 - 방종", "몇 시까지 해요?", "새벽 1시까지 해요!", ""),
    ("방송 9시-1시", "몇 시에 시작해요?", "1시부터 해요", "the card's times swapped"),
    ("방송 9시 켜서 1시 끔", "몇 시에 켜요?", "1시에 켜요", "the card's times swapped"),
    ("사용마이크 슈어 SM7B, 방송 밤 9시~새벽 1시", "마이크 뭐 써요?", "슈어 SM7B 써요", ""),  # compound keys
    ("메인게임 리그 오브 레전드, 마이크 슈어 SM7B", "게임 뭐 해요?", "리그 오브 레전드 해요", ""),
])
def test_card_layouts_streamers_write(card, question, answer, reason):
    from serving.answers import unsendable
    assert unsendable(answer, question, card) == reason


def test_a_viewer_saying_the_cards_fact_is_no_quote():
    from serving.answers import unsendable
    card = CARDS["prose"] + " 가끔 마인크래프트."
    assert unsendable("마이크는 슈어 SM7B 써요", "마이크 뭐 써요?", card, ["슈어 SM7B"]) == ""
    assert unsendable("오늘은 마인크래프트 해요", "무슨 게임 해요?", card, ["마인크래프트 ㄱㄱ"]) == ""
    assert unsendable("응답: 방금ㅋㅋ개웃기네", "OBS 설정 어떻게 하셨어요?", card, ["방금ㅋㅋ 개웃기네"]) == \
        "repeats the chat"


def test_a_question_word_names_a_clause_only_as_a_whole_word():
    """`요일` in the question does not put the card's `금요일` schedule on the off-day topic."""
    from serving.answers import unsendable
    card = "방송 매주 금요일 밤 9시~새벽 1시, 휴방 수요일, 마이크 슈어 SM7B"
    assert unsendable("휴방 요일은 매주 금요일 밤 9시~새벽 1시입니다!", "휴방 요일 알려주세요", card) == \
        "not what was asked"
    assert unsendable("휴방은 수요일입니다!", "휴방 요일 알려주세요", card) == ""


def test_a_card_value_said_in_the_chat_is_not_off_topic():
    from serving.answers import unsendable
    card = CARDS["prose"] + " 가끔 마크."
    assert unsendable("오늘은 마크 해요", "이 노래 뭐예요?", card) == "not what was asked"
    assert unsendable("오늘은 마크 해요", "이 노래 뭐예요?", card, recent=["마크 ㄱㄱ"]) == ""


@pytest.mark.parametrize("part", ["train", "heldout"])
def test_every_reference_card_answer_is_sendable(part):
    """The answers a moderator would type (components.cardqa, every field and card layout)
    pass every check: the checks withhold the model's mistakes, not right answers."""
    from components.cardqa import generate
    from serving.answers import unsendable
    rows = generate(3000, seed=11, part=part)
    withheld = [(r["question"], r["answer"], r["card"], why) for r in rows
                if (why := unsendable(r["answer"], r["question"], r["card"], r["recent"]))]
    assert not withheld, withheld[:5]
