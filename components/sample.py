"""The bundled sample: Korean live-chat messages of all four labels plus channel-FAQ answers.

Deterministic (seeded) and generated from templates with slots, so it is small enough for
the quickstart yet varied enough that a model has to learn the labels rather than memorise
strings. Spam comes from components.spam (documented families). Run
`chatloop data sample` to regenerate `data/sample/`.
"""
from __future__ import annotations

import random
from pathlib import Path

from components import jsonl, spam

GAMES = ["롤", "발로란트", "메이플", "배그", "마크", "오버워치", "스타", "로아", "피파", "철권"]
THINGS = ["마이크", "키보드", "마우스", "헤드셋", "모니터", "의자", "캠", "그래픽카드"]
NAMES = ["하루", "민트", "도리", "감자", "별이", "초코", "루나", "곰돌", "치즈", "나비"]
EMO = ["", "", "ㅋㅋ", "ㅋㅋㅋㅋ", "ㅎㅎ", "~", "!!", "ㅠㅠ", "👍", "😂", "ㄷㄷ"]

NORMAL = [
    "안녕하세요{e}", "{n}님 하이{e}", "와 방금 {x} 미쳤다{e}", "오늘 방송 재밌네요{e}",
    "이 {g} 판은 이겼다{e}", "ㅋㅋㅋㅋㅋ {x}", "굿굿{e}", "오 나이스{e}", "방금 그거 대박{e}",
    "저녁 먹고 왔어요{e}", "{g} 오랜만에 보네{e}", "오늘도 화이팅{e}", "노래 좋다{e}",
    "{n}님 컨디션 좋아 보이네요{e}", "아 아깝다{e}", "와 컨트롤 보소{e}", "방송 켜져서 바로 옴{e}",
    "출근 전에 잠깐 보고 감{e}", "이번 판 캐리 각{e}", "{x} 개꿀잼{e}", "ㄹㅇ 인정{e}",
    "배고프다 치킨 시켜야지{e}", "{g} 하는 거 처음 봐요{e}", "오늘 {x} 폼 미쳤네{e}",
    "역시 {n}님{e}", "다들 안녕{e}", "ㅎㅇㅎㅇ{e}", "좋은 아침입니다{e}", "잘 자요 다들{e}",
    "오늘 날씨 좋네요{e}", "{x} 사고 싶다{e}", "브금 좋네{e}", "아 졸려{e}", "비 오네요{e}",
]
QUESTION = [
    "오늘 방송 몇 시까지 해요?", "이 게임 이름이 뭐예요?", "다음 방송 언제예요{e}?",
    "{x} 뭐 쓰세요?", "{g} 티어가 어떻게 돼요?", "{n}님 저녁 뭐 드셨어요?", "지금 몇 판째에요?",
    "이거 무슨 노래예요?", "디코 있어요?", "{g} 몇 년 하셨어요?", "내일도 방송하나요?",
    "어떻게 하면 {g} 잘해요?", "{x} 얼마예요?", "합방은 언제 해요?", "왜 {g} 접으셨어요?",
    "{n}님 몇 살이에요?", "방송 시간 바뀌었나요?", "이 맵 이름 뭐예요?", "팬카페 주소 어디예요?",
    "{x} 추천해주실 수 있나요?", "오늘 {g} 랭크 돌려요?", "유튜브 채널도 있어요?",
    "후원은 어떻게 해요?", "닉네임 뜻이 뭐예요?", "{g} 캐릭터 누구 키워요?",
    "혹시 {x} 어디서 샀어요?", "다시보기 어디서 봐요?", "{n}님 MBTI 뭐예요?",
]
TOXIC = [
    "{n} 진짜 못한다 병신{e}", "닥치고 게임이나 해", "꺼져 ㅅㅂ{e}", "개못하네 ㅉㅉ",
    "뇌 없냐{e}", "시발 방송 접어라", "{g} 그따위로 할 거면 하지마 씨발", "존나 못하네{e}",
    "ㅂㅅ 같은 플레이{e}", "미친놈아 정신차려", "니 얼굴 보기 싫다 꺼져", "{n} 쓰레기네",
    "애미 없냐{e}", "개새끼 또 죽네", "좆밥 ㅋㅋ", "저능아냐{e}", "방송 수준 개노답 ㅅㅂ",
    "이 새끼 {x}만 좋으면 뭐하냐", "틀딱 같은 소리 하네", "찐따 새끼{e}", "한남충 ㅉ",
    "죽어라 진짜{e}", "{n} 인성 쓰레기", "병신아 {g} 지워", "너 같은 건 방송하면 안 됨 ㅗ",
]

CARDS = [
    {"name": n, "game": g, "hours": h, "mic": m, "discord": d}
    for n, g, h, m, d in [
        ("하루", "롤", "매일 저녁 8시부터 새벽 1시", "슈어 SM7B", "있어요, 공지에 링크가 있어요"),
        ("민트", "발로란트", "평일 오후 2시부터 7시", "로데 PodMic", "없어요, 팬카페를 이용해 주세요"),
        ("도리", "메이플", "주말 낮 12시부터 저녁 6시", "큐보이드 마이크", "있어요, 방제에 적혀 있어요"),
        ("감자", "마크", "화목토 밤 9시부터 12시", "블루 예티", "있어요, 구독자 전용이에요"),
        ("루나", "오버워치", "매일 밤 10시부터 새벽 3시", "AT2020", "없어요, 인스타 DM 주세요"),
    ]
]
FAQ = [
    (["방송 몇 시에 해요?", "방송 시간이 어떻게 돼요?", "언제 방송해요?"],
     "{hours}까지 방송해요!"),
    (["무슨 게임 해요?", "주 게임이 뭐예요?", "요즘 무슨 게임 하세요?"],
     "주로 {game} 해요!"),
    (["마이크 뭐 써요?", "마이크 모델이 뭐예요?", "마이크 어떤 거예요?"],
     "{mic} 쓰고 있어요."),
    (["디코 있어요?", "디스코드 주소 알려주세요", "디스코드 있나요?"],
     "디스코드는 {discord}."),
    (["스트리머 이름이 뭐예요?", "닉네임이 뭐예요?", "누구 방송이에요?"],
     "{name}의 방송이에요, 반가워요!"),
]


def card_text(card: dict) -> str:
    """A channel card as the one-line text the answer prompt carries."""
    return (f"스트리머 {card['name']}, 주 게임 {card['game']}, 방송 시간 {card['hours']}, "
            f"마이크 {card['mic']}, 디스코드 {card['discord']}")


def _fill(rng: random.Random, template: str) -> str:
    return template.format(n=rng.choice(NAMES), g=rng.choice(GAMES), x=rng.choice(THINGS + GAMES),
                           e=rng.choice(EMO)).strip()


def chat_rows(n_per_label: int = 300, seed: int = 7) -> list[dict]:
    """Labelled chat rows {text, label, source} with no repeated text."""
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    makers = {
        "normal": lambda: _fill(rng, rng.choice(NORMAL)),
        "question": lambda: _fill(rng, rng.choice(QUESTION)),
        "toxic": lambda: _fill(rng, rng.choice(TOXIC)),
        "spam": lambda: spam.generate_one(rng)["text"],
    }
    for label, make in makers.items():
        count, tries = 0, 0
        while count < n_per_label and tries < n_per_label * 50:
            tries += 1
            text = make()
            if text in seen:
                continue
            seen.add(text)
            rows.append({"text": text, "label": label, "source": "sample"})
            count += 1
    rng.shuffle(rows)
    return rows


def answer_rows(seed: int = 7) -> list[dict]:
    """Channel-FAQ answer examples {question, answer, card, source}."""
    rng = random.Random(seed)
    rows = []
    for card in CARDS:
        for variants, answer in FAQ:
            for question in variants:
                rows.append({"question": question + rng.choice(["", "", " ㅎㅎ", "?"]).rstrip("?"),
                             "answer": answer.format(**card), "card": card_text(card),
                             "source": "sample-faq"})
    rng.shuffle(rows)
    return rows


def write_sample(out_dir: str | Path, n_per_label: int = 300, seed: int = 7) -> dict[str, int]:
    """Write chat.jsonl and answers.jsonl into `out_dir`; returns row counts."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, rows in (("chat.jsonl", chat_rows(n_per_label, seed)),
                       ("answers.jsonl", answer_rows(seed))):
        counts[name] = jsonl.write_atomic(out / name, rows)
    return counts
