"""Questions answered from the channel card: generated answer-training pairs.

The real question/answer pairs (chatbot-data) carry no channel card, so a model trained on them
alone answers a viewer's `몇 시까지 방송해요?` with small talk and ignores the card it is given.
Each row here is a card (3-6 facts about the channel, in one of several layouts), the last few
chat lines (everyday chat from components.livechat, distractors), a viewer's question and the
answer a moderator would type: the asked fact copied from the card, or, when the card does not
hold it (a private question, or a fact missing from this card), a short "I don't know" that
never invents one.

Vocabularies are split: `part="train"` draws three of every four values and question
paraphrases, `part="heldout"` only the fourth, so bench/answers.py measures whether the model
copies facts it has never seen, asked in words it has never seen. To add words, extend a tuple.
"""
from __future__ import annotations

import random

from components import livechat

UNKNOWN = ("카드에 없는 내용이라 잘 모르겠어요. 방장님께 여쭤볼게요!",
           "그건 아직 안내된 게 없어요. 방장님이 알려주실 거예요!")
PRIVATE = ("개인적인 건 말씀드리기 어려워요. 양해 부탁드려요!",
           "사적인 질문은 답해드리기 어려워요 ㅎㅎ")


def _t(words: str) -> tuple[str, ...]:
    return tuple(words.split("|"))


DAYS = _t("매일|평일|주말|월수금|화목토|월~금|토일|매주 금요일|월화수|수목금")
STARTS = _t("오후 1시|오후 2시|오후 3시|저녁 6시|저녁 7시|저녁 8시|밤 9시|밤 10시|밤 11시|자정|"
            "새벽 1시|오전 10시")
ENDS = _t("오후 5시|저녁 7시|밤 10시|밤 11시|자정|새벽 1시|새벽 2시|새벽 3시|새벽 4시|오전 6시")
GAMES = _t("발로란트|리그 오브 레전드|마인크래프트|오버워치 2|배틀그라운드|메이플스토리|로스트아크|"
           "스타크래프트|이터널 리턴|FC 온라인|엘든 링|젤다의 전설|피파|던전앤파이터|서든어택|"
           "몬스터 헌터|원신|스텔라 블레이드|카트라이더|철권 8|발더스 게이트 3|팰월드|테트리스|"
           "포켓몬|디아블로 4|하스스톤|로블록스|동물의 숲|와우|GTA 5")
MICS = _t("슈어 SM7B|로데 PodMic|오디오테크니카 AT2020|블루 예티|슈어 MV7|일렉트로보이스 RE20|"
          "로데 NT-USB|젠하이저 MD421|AKG C214|HyperX QuadCast|TC 헬리콘 GoXLR 마이크|"
          "로데 프로캐스터|오디오테크니카 AT2035|뉴만 TLM 102|슈어 SM58|마오노 PD200X")
KEYBOARDS = _t("레오폴드 FC900R|체리 MX 보드 3.0|커세어 K70|로지텍 G915|앱코 K995|한성 GK893B|"
               "리얼포스 R3|레이저 헌츠맨|스틸시리즈 에이펙스 프로|키크론 K8|콕스 CK01|덱 헤슘")
MICE = _t("로지텍 G Pro X 슈퍼라이트|레이저 바이퍼|조위 EC2|스틸시리즈 라이벌 3|로지텍 G304|"
          "글로리어스 모델 O|레이저 데스애더 V3|파이널마우스|풀사 X2|로지텍 G502|앱코 A660|"
          "커세어 M65")
CAMS = _t("로지텍 C920|소니 ZV-E10|캐논 M50|로지텍 브리오|엘가토 페이스캠|소니 A6400|"
          "레이저 키요 프로|오비스봇 미트")
NAMES = _t("감자|두부|말랑이|초코|별빛|구름|호떡|냥이|우유|다람|민트|너굴|펭펭|달토|"
           "곰곰|여울|솔이|하루|모카|보리|라떼|콩이|쿠키|바닐라")
CAFES = _t("네이버 카페 감자마을|네이버 카페 두부공장|팬카페 구름정원|네이버 카페 별빛다방|"
           "팬카페 호떡가게|네이버 카페 우유창고|팬카페 민트초코|네이버 카페 모카하우스")
DISCORDS = _t("방송 공지 링크|채널 소개란 링크|팬카페 공지 링크|방송 하단 링크|구독자 전용 링크|"
              "채팅창 공지 링크|커뮤니티 탭 링크|패널 링크")
OFFDAYS = _t("수요일|일요일|월요일|목요일|화요일|격주 토요일|공휴일|매주 수요일")
RULES = _t("링크 금지|광고 금지|개인정보 요구 금지|정치 얘기 금지|스포 금지|도배 금지|"
           "훈수 금지|타 방송 언급 금지")

# field -> (card keys, value maker, question paraphrases, answer templates)
FIELDS: dict[str, tuple] = {
    "hours": (("방송 시간", "방송시간", "방송"),
              lambda rng, part: f"{_pick(rng, DAYS, part)} {_pick(rng, STARTS, part)}~"
                                f"{_pick(rng, ENDS, part)}",
              _t("몇 시까지 방송해요?|방송 시간 어떻게 돼요?|방송 언제 해요?|오늘 언제까지 해요?|"
                 "몇 시에 방송 켜요?|방송 시간이 언제예요?|보통 몇 시부터 해요?|방종 몇 시에 해요?"),
              _t("방송 시간은 {v}입니다!|{v} 방송해요~|보통 {v} 방송합니다!")),
    "game": (("주 게임", "게임", "주로 하는 게임"),
             lambda rng, part: _pick(rng, GAMES, part),
             _t("무슨 게임 해요?|이 게임 이름 뭐예요?|요즘 무슨 게임 하세요?|주 게임이 뭐예요?|"
                "이거 무슨 게임이에요?|주로 뭐 하세요?|게임 뭐 하는 방송이에요?|지금 하는 게임 뭐예요?"),
             _t("주로 {v} 해요!|{v} 하고 있어요~|요즘은 {v} 주로 합니다!")),
    "mic": (("마이크",), lambda rng, part: _pick(rng, MICS, part),
            _t("마이크 뭐 써요?|마이크 모델이 뭐예요?|마이크 어떤 거 쓰세요?|목소리 좋은데 마이크 뭐예요?|"
               "마이크 제품명 알려주세요|무슨 마이크 써요?|마이크 뭐 쓰시는지 궁금해요|마이크 정보 있어요?"),
            _t("마이크는 {v} 써요!|{v} 쓰고 있어요~|마이크는 {v}입니다!")),
    "keyboard": (("키보드",), lambda rng, part: _pick(rng, KEYBOARDS, part),
                 _t("키보드 뭐 써요?|키보드 뭐예요?|키보드 소리 좋은데 뭐예요?|무슨 키보드 쓰세요?|"
                    "키보드 모델 알려주세요|키보드 어디 거예요?|키보드 정보 있어요?|키보드 제품명 뭐예요?"),
                 _t("키보드는 {v} 써요!|{v} 쓰고 있어요~|키보드는 {v}입니다!")),
    "mouse": (("마우스",), lambda rng, part: _pick(rng, MICE, part),
              _t("마우스 뭐 써요?|마우스 뭐예요?|마우스 어떤 거 쓰세요?|무슨 마우스예요?|"
                 "마우스 모델 알려주세요|마우스 어디 거예요?|에임 좋은데 마우스 뭐예요?|마우스 정보 있어요?"),
              _t("마우스는 {v} 써요!|{v} 쓰고 있어요~|마우스는 {v}입니다!")),
    "cam": (("캠", "카메라", "웹캠"), lambda rng, part: _pick(rng, CAMS, part),
            _t("캠 뭐 써요?|카메라 뭐예요?|화질 좋은데 캠 뭐예요?|웹캠 뭐 쓰세요?|"
               "카메라 모델 알려주세요|캠 어디 거예요?|무슨 카메라 써요?|캠 정보 있어요?"),
            _t("캠은 {v} 써요!|{v} 쓰고 있어요~|카메라는 {v}입니다!")),
    "name": (("스트리머", "방장", "닉네임"), lambda rng, part: _pick(rng, NAMES, part),
             _t("스트리머 이름이 뭐예요?|닉네임이 뭐예요?|누구 방송이에요?|방장님 이름 뭐예요?|"
                "여기 누구 방송이에요?|스트리머 닉 뭐예요?|방장 닉네임 알려주세요|이름 뭐라고 불러요?"),
             _t("{v}님 방송이에요, 반가워요!|방장님은 {v}님이에요!|여기는 {v}님 방송입니다~")),
    "cafe": (("팬카페", "카페"), lambda rng, part: _pick(rng, CAFES, part),
             _t("팬카페 있어요?|카페 어디예요?|팬카페 주소 알려주세요|카페 있나요?|"
                "팬카페 이름 뭐예요?|카페 가입하고 싶어요 어디예요?|팬카페 어떻게 가요?|카페 이름 알려주세요"),
             _t("팬카페는 {v}입니다!|{v} 검색해서 오시면 돼요~|{v}에서 만나요!")),
    "discord": (("디스코드", "디코"), lambda rng, part: _pick(rng, DISCORDS, part),
                _t("디코 있어요?|디스코드 어떻게 들어가요?|디스코드 주소 알려주세요|디코 어디서 들어가요?|"
                   "디스코드 있나요?|디코 링크 어디 있어요?|디스코드 참여 어떻게 해요?|디코 서버 있어요?"),
                _t("디스코드는 {v}로 들어오시면 돼요!|{v}에서 디코 들어오세요~|디코는 {v} 확인해 주세요!")),
    "offday": (("휴방", "쉬는 날"), lambda rng, part: _pick(rng, OFFDAYS, part),
               _t("휴방 언제예요?|쉬는 날 있어요?|언제 쉬어요?|휴방일이 언제예요?|"
                  "방송 안 하는 날 있어요?|내일 방송해요?|쉬는 요일 있나요?|휴방 요일 알려주세요"),
               _t("휴방은 {v}입니다!|{v}에는 쉬어요~|{v} 휴방입니다!")),
    "rules": (("채팅 규칙", "규칙"), lambda rng, part: ", ".join(
                  rng.sample(_part(RULES, part), 2)),
              _t("채팅 규칙 있어요?|여기 규칙 뭐예요?|채팅 금지 사항 있어요?|규칙 알려주세요|"
                 "채팅할 때 주의할 거 있어요?|방 규칙이 뭐예요?|뭐 하면 안 돼요?|채팅 룰 있나요?"),
              _t("채팅 규칙은 {v}입니다!|{v}만 지켜 주세요~|규칙: {v} 부탁드려요!")),
}
PRIVATE_QUESTIONS = _t("몇 살이에요?|어디 살아요?|여친 있어요?|남친 있어요?|본명이 뭐예요?|"
                       "집 어디예요?|결혼했어요?|전화번호 알려주세요|무슨 학교 다녀요?|키 몇이에요?|"
                       "나이 알려주세요|직업이 뭐예요?")
LAYOUTS = ("{k} {v}", "{k}: {v}", "{k} - {v}", "[{k}] {v}")
JOINS = (", ", " / ", " | ", "\n", "; ")


def _part(values: tuple[str, ...], part: str) -> list[str]:
    """Three of every four values for `train`, the fourth for `heldout`."""
    if part not in ("train", "heldout"):
        raise ValueError(f"part must be train or heldout, got {part!r}")
    return [v for i, v in enumerate(values) if (i % 4 == 3) == (part == "heldout")]


def _pick(rng: random.Random, values: tuple[str, ...], part: str) -> str:
    return rng.choice(_part(values, part))


def card(rng: random.Random, part: str, must: str | None = None, exclude: str | None = None
         ) -> tuple[str, dict[str, str]]:
    """(card text, {field: value}): 3-6 fields including `must`, never `exclude`."""
    names = [f for f in FIELDS if f not in (must, exclude)]
    chosen = rng.sample(names, rng.randint(2, 5)) + ([must] if must else [rng.choice(names)])
    rng.shuffle(chosen)
    facts = {f: FIELDS[f][1](rng, part) for f in dict.fromkeys(chosen)}
    layout, join = rng.choice(LAYOUTS), rng.choice(JOINS)
    text = join.join(layout.format(k=rng.choice(FIELDS[f][0]), v=v) for f, v in facts.items())
    return text, facts


def generate_one(rng: random.Random, part: str = "train") -> dict:
    """One row {question, answer, card, recent, source, field, fact}; `fact` is the value the
    answer must contain ("" for an unknown or private question)."""
    roll = rng.random()
    recent = [livechat.compose(rng.choice(("reaction", "stream_talk", "support")), rng)
              for _ in range(rng.randint(0, 5))]
    if roll < 0.08:
        text, _ = card(rng, part)
        question, answer, field, fact = rng.choice(PRIVATE_QUESTIONS), rng.choice(PRIVATE), \
            "private", ""
    elif roll < 0.18:
        field = rng.choice(list(FIELDS))
        text, _ = card(rng, part, exclude=field)
        question = rng.choice(_part(FIELDS[field][2], part))
        answer, fact = rng.choice(UNKNOWN), ""
        field = "unknown:" + field
    else:
        field = rng.choice(list(FIELDS))
        text, facts = card(rng, part, must=field)
        fact = facts[field]
        question = rng.choice(_part(FIELDS[field][2], part))
        answer = rng.choice(FIELDS[field][3]).format(v=fact)
    if rng.random() < 0.3:
        question = question.rstrip("?") + rng.choice(("?", "??", " ㅎㅎ", "~?", " 궁금해요"))
    return {"question": question, "answer": answer, "card": text, "recent": recent,
            "source": "cardqa", "field": field, "fact": fact}


def generate(n: int, seed: int = 17, part: str = "train") -> list[dict]:
    """`n` rows (see generate_one), unique by (card, question), deterministic for `seed`."""
    rng = random.Random(f"{seed}:{part}")
    rows, seen, misses = [], set(), 0
    while len(rows) < n:
        row = generate_one(rng, part)
        key = (row["card"], row["question"])
        if key in seen:
            misses += 1
            if misses > 20 * n + 1000:
                raise RuntimeError(f"could only generate {len(rows)} unique card questions of {n}")
            continue
        seen.add(key)
        rows.append(row)
    return rows
