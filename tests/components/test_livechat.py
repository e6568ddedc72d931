"""The everyday live-chat generator (hard negatives): determinism, label shares, kinds,
uniqueness, lengths, open vocabularies, and no spam lures (links, messenger ids, phones)."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from components import livechat
from components.config import load_params
from components.labels import check_label, normalize_text
from serving.message import ChatMessage
from serving.rules import Rules

KINDS = {"reaction", "support", "stream_talk", "greeting", "community", "question"}
URL = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|net|org|kr|io|ly|me|xyz|shop|site|tv|app)\b"
                 r"|\b(?:bit\.ly|me2\.do|han\.gl|url\.kr)\b|(?:점|쩜|닷) ?(?:com|컴|net|kr)", re.I)
MESSENGER_ID = re.compile(r"@\s*[A-Za-z0-9_.]*[A-Za-z][A-Za-z0-9_.]*\d|@[A-Za-z0-9_.]{3,}"
                          r"|(?:텔레|텔레그램|텔그|카톡|카카오톡|오픈카톡|디코|디스코드|라인|위챗|TG|LINE)"
                          r"\s*(?:id|ID|아이디|:|@|→)?\s*[A-Za-z0-9_.]{3,}")
PHONE = re.compile(r"(?<!\d)0\d{1,2}[-. ]?\d{3,4}[-. ]?\d{4}(?!\d)|1[5-8]\d\d[-. ]?\d{4}")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return livechat.generate(3000, seed=5)


def test_deterministic_for_a_seed_and_different_across_seeds(rows):
    assert livechat.generate(3000, seed=5) == rows
    other = livechat.generate(3000, seed=6)
    assert other != rows
    assert len({r["text"] for r in other} & {r["text"] for r in rows}) < 0.2 * len(rows)


def test_rows_labels_and_shares(rows):
    assert len(rows) == 3000
    assert all(set(r) == {"text", "label", "kind"} for r in rows)
    assert all(check_label(r["label"]) in ("normal", "question") for r in rows)
    labels = Counter(r["label"] for r in rows)
    assert 0.15 <= labels["question"] / len(rows) <= 0.25
    assert 0.75 <= labels["normal"] / len(rows) <= 0.85
    assert all((r["label"] == "question") == (r["kind"] == "question") for r in rows)


def test_every_kind_is_present_even_in_a_small_sample(rows):
    assert set(livechat.KINDS) == KINDS
    assert {r["kind"] for r in livechat.generate(10, seed=1)} == KINDS
    kinds = Counter(r["kind"] for r in rows)
    assert set(kinds) == KINDS and min(kinds.values()) >= 0.08 * len(rows)


def test_texts_are_unique_normalised_and_1_to_120_characters(rows):
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == len(texts)
    assert all(1 <= len(t) <= 120 and t == normalize_text(t) for t in texts)


def test_questions_read_as_questions_and_normal_rows_do_not_ask(rows):
    ending = re.compile(r"(\?|요|용|여|욤|오|나|까|냐|니|죠|지|뭐|언제|쯤|뭐임|언제임|심)\W*$")
    for r in rows:
        bare = re.sub(r"[ㅋㅎㅠ\s~!.^]+$|[^\w\s?]+$", "", r["text"])  # trailing laughter / emoji
        if r["label"] == "question":
            assert "?" in r["text"] or ending.search(bare) or ending.search(r["text"]), r["text"]
        else:
            assert "?" not in r["text"], r["text"]
    marks = Counter("?" in r["text"] for r in rows if r["label"] == "question")
    assert marks[True] and marks[False] >= 30       # with and without a question mark


def test_vocabularies_are_open(rows):
    texts = [r["text"] for r in rows]
    joined = " ".join(texts)
    nicks = set(re.findall(r"(\S{3,})님", joined))
    numbers = set(re.findall(r"\d[\d,]*", joined))
    words = set(joined.split())
    # a text with laughter runs, digits and symbols removed: the composition, not the noise
    skeletons = {re.sub(r"[ㅋㅎ]+|\d[\d,]*|[^\w가-힣ㄱ-ㅣ]", "", t) for t in texts}
    assert len(nicks) >= 150 and len(numbers) >= 100 and len(words) >= 1500
    assert len(skeletons) >= 0.7 * len(texts)
    for kind in KINDS - {"reaction"}:                  # reactions are short by nature
        of_kind = [t for t, r in zip(texts, rows) if r["kind"] == kind]
        assert len({re.sub(r"[ㅋㅎ]+|\d+|\W", "", t) for t in of_kind}) >= 0.75 * len(of_kind), kind
    assert len({len(re.search("ㅋ+", t).group()) for t in texts if "ㅋ" in t}) >= 15  # random runs


def test_covers_what_the_model_gets_wrong(rows):
    """Innocent 구독/좋아요/후원, emoji-only lines, friendly 미쳤다 and laughter."""
    texts = [r["text"] for r in rows]
    def count(pattern):
        return sum(bool(re.search(pattern, t)) for t in texts)
    assert count("구독") >= 100 and count("좋아요") >= 50
    assert count("후원|도네|별풍|치즈|슈챗|멤버십") >= 50 and count("팔로우|팔로워") >= 20
    assert count(r"\d+(만|천|명)? ?(구독|구독자|팔로워|팔로우|애청자|즐겨찾기|멤버십)? ?축하") >= 20
    assert count(r"^[^\w\s]+( [^\w\s]+)*$") >= 30             # emoji only: 🔥🔥🔥
    assert count("미쳤") >= 30 and count("ㅋㅋㅋ") >= 200
    assert count("롤|배그|발로란트|메이플|로아|마크|오버워치") >= 50
    assert count("카톡|디코") >= 20 and count("이벤트") >= 20 and count("공지") >= 20
    assert count(r"(요|니다)\W*$") >= 300 and count(r"(함|음|다|해|냐|임)\W*$") >= 300  # both registers


@pytest.mark.parametrize("seed", [5, 0, 1])
def test_no_links_messenger_ids_or_phone_numbers(seed):
    for r in livechat.generate(3000, seed=seed):
        text = r["text"]
        assert not URL.search(text), text
        assert not MESSENGER_ID.search(text), text
        assert not PHONE.search(text), text


def test_serving_rules_see_no_spam_or_toxic_evidence(rows):
    """A fresh Rules per message (no history): the text alone must carry no evidence."""
    params = load_params()["serving"]["rules"]
    for i, r in enumerate(rows):
        ev = Rules(params).inspect(ChatMessage("replay", "c", str(i), "u", "n", r["text"]))
        assert not ev.spam and not ev.toxic, (r["text"], ev.reasons())


def test_lure_patterns_would_be_caught():
    """The patterns above do match the lures they stand for."""
    for lure in ("카톡 lucky77", "텔레 @vip4821", "@moon99 으로 연락", "win777.com", "bit.ly/abc12",
                 "win777 쩜 com", "010-1234-5678", "01012345678", "1588-1234"):
        assert URL.search(lure) or MESSENGER_ID.search(lure) or PHONE.search(lure), lure
    for harmless in ("카톡으로 친구가 알려줘서 왔어요", "디코 서버 재밌네요", "구독자 3만 축하해요",
                     "2,300명 돌파 ㅊㅋㅊㅋ", "10시 퇴근하고 왔어요"):
        assert not (URL.search(harmless) or MESSENGER_ID.search(harmless) or PHONE.search(harmless))
