"""Spam and toxic evidence, one example of each kind; the combination rule."""
from __future__ import annotations

import random

import pytest

from components.config import load_params
from serving.message import ChatMessage
from serving.rules import ChannelWindow, Evidence, Rules, combine

RULES = load_params()["serving"]["rules"]


def msg(text, user="u1", channel="c"):
    return ChatMessage("replay", channel, "m", user, user, text, 0.0)


@pytest.mark.parametrize("text, reason", [
    ("최저가 판매 bit.ly/abc12", "link"),
    ("여기로 b i t . l y / x1", "link"),
    ("www.vipbet.kr 가입", "link"),
    ("알바 구함 카톡 ID abc123", "messenger"),
    ("텔레 @coinking", "messenger"),
    ("디코 : d42jlzs 로 사진 보내드림", "messenger"),
    ("TG cfxz8j 문의", "messenger"),
    ("대출 상담 010-1234-5678", "phone"),
    ("급전 01012345678", "phone"),
    ("먹튀없는 사이트", "spam_word"),
    ("구독 " * 12, "flood"),
    ("팔로우" * 12 + " han.gl/x1", "flood"),            # joined repeats
    ("🔥" * 15, "flood"),
    ("주소 win777 닷컴 입력", "link"),                  # spelled-out link
    ("주소 win777 닷컴 입력", "evasion"),
    ("우리 방송 놀러오세요 " * 3, "repeat"),
    ("토0토 가입", "evasion"),
])
def test_spam_evidence(text, reason):
    assert reason in Rules(RULES).inspect(msg(text)).spam


@pytest.mark.parametrize("text", ["오늘 방송 몇 시까지 해요?", "ㅋㅋㅋㅋㅋㅋㅋ", "탑 라인 밀어요",
                                  "3시 30분에 시작", "gg wp", "이 노래 제목 뭐예요",
                                  "ㅋ" * 30, "!" * 20, "ㅠㅠㅠㅠㅠㅠㅠㅠㅠㅠㅠㅠ", "A >>>>>>>>>>>> B"])
def test_ordinary_chat_has_no_evidence(text):
    ev = Rules(RULES).inspect(msg(text))
    assert ev.spam == {} and ev.toxic == {}


def test_channel_window_counts_match_a_rescan_of_the_window():
    """Distinct senders per text, kept incrementally, equal a scan of what is in the window
    (entries leave by age and by the length cap)."""
    rng = random.Random(3)
    window, maxlen, now = 5.0, 40, 0.0
    chan, log = ChannelWindow(maxlen), []
    for _ in range(3000):
        now += rng.expovariate(8.0)
        key, user = rng.choice("abcde"), f"u{rng.randrange(12)}"
        log.append((now, key, user))
        inside = [e for e in log if e[0] >= now - window][-maxlen:]
        assert chan.add(now, key, user, now - window) == len({u for _, k, u in inside if k == key})
    assert len(chan.entries) == len(inside)
    assert sum(map(len, chan.users.values())) == len({(k, u) for _, k, u in inside})


def test_repetition_per_user_and_channel_over_a_window():
    now = [0.0]
    rules = Rules(RULES, clock=lambda: now[0])
    ad = "우리 방송 놀러와 주세요 제발"
    assert "repeat" not in rules.inspect(msg(ad)).spam
    assert "repeat" not in rules.inspect(msg(ad)).spam
    assert "repeat" in rules.inspect(msg(ad)).spam
    now[0] = 1000.0  # outside the window: forgotten
    assert "repeat" not in rules.inspect(msg(ad)).spam
    for _ in range(5):   # short chat repeated is ordinary
        assert rules.inspect(msg("ㅋㅋㅋㅋ", user="laugher")).spam == {}
    raid = [rules.inspect(msg("이 채널 최고 구독하세요 제발", user=f"u{i}")).spam for i in range(4)]
    assert "raid" not in raid[2] and "raid" in raid[3]
    flood = [rules.inspect(msg(f"메시지 {i}", user="fast")).spam for i in range(8)]
    assert "flood" not in flood[6] and "flood" in flood[7]
    now[0] += RULES["flood_window_s"] + 1   # the same pace spread out is not a flood
    assert "flood" not in rules.inspect(msg("메시지 8", user="fast")).spam


def test_evasion_is_toxic_evidence():
    assert Rules(RULES).inspect(msg("tlqkf 뭐하냐")).toxic == {"evasion": RULES["evasion_toxic"]}


def test_combine_rule():
    model = {"normal": 0.8, "question": 0.1, "toxic": 0.05, "spam": 0.05}
    assert combine(model, Evidence("x")) == ("normal", pytest.approx(model))
    label, probs = combine(model, Evidence("x", spam={"link": 0.6, "messenger": 0.6}))
    assert label == "spam"
    assert probs["spam"] == pytest.approx(1 - 0.95 * 0.4 * 0.4)
    assert sum(probs.values()) == pytest.approx(1.0)
    assert probs["normal"] / probs["question"] == pytest.approx(8.0)  # proportions kept
    label, probs = combine({"normal": 0, "question": 0, "toxic": 0.9, "spam": 0.1},
                           Evidence("x", spam={"a": 0.9}, toxic={"b": 0.9}))
    assert sum(probs.values()) == pytest.approx(1.0) and label in ("toxic", "spam")
