"""Synthetic Korean live-chat spam, by kind and template family.

There is no public Korean live-chat spam set, so the project generates its own. Each kind
is one sort of spam seen in Korean live chat (ads, gambling, coin scams, follower selling,
side-job and loan bait, phishing, impersonation, game hacks, self-promotion, floods,
copy-paste walls) or one evasion trick (spaced-out letters, dots and digits inside words,
Hangul typed on a QWERTY keyboard, loose jamo like `ㅋr지노`, links spelled out). Every
kind has several phrasing templates; one template is one family, named `kind/index`
(`gambling/2`), and every generated row records its family, so a split can hold whole
families out of training: the test split then holds phrasings the model never saw, of
every kind (components.ingest.stratified_split; `data.spam_holdout: kind` holds whole
kinds out instead, a harder stress test).

A template is plain text with `{slot}` fields: a name from SLOTS (a random link, phone
number, messenger id, ...) or inline alternatives `{a|b|c}` (one is picked). To add a
phrasing, add a template to its kind in TEMPLATES; to add a kind, add a list of templates
(and, for an evasion trick, a text transform to TRANSFORMS). See docs/data.md.
"""
from __future__ import annotations

import random
import re
import string
from typing import Callable

from components.labels import normalize_text

# ------------------------------------------------------------------ slot vocabularies
SHORTENERS = ["bit.ly", "me2.do", "han.gl", "vo.la", "url.kr", "t.ly", "is.gd", "tinyurl.com",
              "zrr.kr", "buly.kr", "t.co", "goo.su"]
SITES = ["win-777.com", "coin-free.net", "vipbet.kr", "follow-up.shop", "starbet88.com",
         "ggsale.co", "freecoin.io", "hotdeal24.net", "mega-slot.xyz", "lucky99.bet",
         "sns-boost.kr", "event-gift.site", "live-auth.info", "gamecash.shop"]
MESSENGERS = ["카톡", "카카오톡", "텔레", "텔레그램", "라인", "오픈카톡", "카톡ID", "텔ㄹ", "TG",
              "디코", "위챗"]
COINS = ["비트코인", "리플", "도지", "이더리움", "신규코인", "상장예정 코인", "솔라나", "밈코인"]
PRODUCTS = ["게이밍 마우스", "기프티콘", "문화상품권", "스킨", "에어팟", "명품 가방", "다이어트약",
            "정력제", "전자담배", "레플리카 시계", "게임 쿠폰", "헤드셋"]
GAMES = ["리니지", "로스트아크", "메이플", "배그", "롤", "발로란트", "오버워치", "피파", "디아블로"]
PLATFORMS = ["숲", "아프리카", "치지직", "유튜브", "트위치", "인스타"]
FLOOD_UNITS = ["구독", "좋아요", "ㄱㄱ", "!!", "♥", "★", "방송홍보", "알림설정", "🔥", "💰",
               "홍보", "ㅎㅇ", "@@", "↑↑", "팔로우", "와"]


def _token(rng: random.Random, n: int = 6) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def _short_link(rng: random.Random) -> str:
    return f"{rng.choice(['', 'https://', 'http://'])}{rng.choice(SHORTENERS)}/{_token(rng, 5)}"


def _site(rng: random.Random) -> str:
    return f"{rng.choice(['', 'www.', 'https://'])}{rng.choice(SITES)}"


def _link(rng: random.Random) -> str:
    return _short_link(rng) if rng.random() < 0.5 else _site(rng)


def _phone(rng: random.Random) -> str:
    sep = rng.choice(["-", " ", ".", ""])
    head = rng.choice(["010", "010", "070", "1588"])
    if head == "1588":
        return f"1588{sep}{rng.randint(1000, 9999)}"
    return f"{head}{sep}{rng.randint(1000, 9999)}{sep}{rng.randint(1000, 9999)}"


def _messenger(rng: random.Random) -> str:
    return f"{rng.choice(MESSENGERS)} {rng.choice(['', 'ID ', ': ', '@'])}{_token(rng, rng.randint(4, 8))}"


SLOTS: dict[str, Callable[[random.Random], str]] = {
    "link": _link,
    "short": _short_link,
    "site": _site,
    "phone": _phone,
    "msg": _messenger,
    "contact": lambda r: r.choice([_messenger, _link, _phone])(r),
    "code": lambda r: _token(r, 4).upper(),
    "coin": lambda r: r.choice(COINS),
    "product": lambda r: r.choice(PRODUCTS),
    "game": lambda r: r.choice(GAMES),
    "platform": lambda r: r.choice(PLATFORMS),
    "n": lambda r: str(r.choice([50, 100, 300, 500, 1000, 3000, 5000, 10000])),
    "pct": lambda r: f"{r.choice([5, 10, 15, 20, 30, 50, 100, 300])}%",
    "money": lambda r: r.choice(["5천원", "만원", "3만원", "5만원", "10만원", "30만원", "100만원",
                                 "1만", "2만", "50만"]),
    "name": lambda r: r.choice(["하늘", "달빛", "쪼꼬", "뽀삐", "민트초코", "고양이", "새벽"]) + _token(r, 2),
}

# ------------------------------------------------------------------------ families
# Evasion families share these keyword phrases; what makes each family its own is the
# spelling trick applied to them (TRANSFORMS), so a held-out trick is an unseen surface form.
_BAIT = ("{카지노 가입|토토 첫충|바카라 꽁머니|슬롯 무료|코인 리딩방|무료 코인|부업 문의|대출 상담|"
         "팔로워 판매|성인 방송|먹튀 없는 사이트|환전 무제한}")

TEMPLATES: dict[str, list[str]] = {
    "ad_link": [
        "{최저가|초특가|오늘만|한정수량|반값} {product} {판매합니다|할인중|뿌립니다|특가 진행중} {link}",
        "{product} {정품|새상품|미개봉} {50|70|90}% 할인!! 구매는 {link}",
        "[광고] {product} {무료배송|1+1|당일발송} 지금 확인 👉 {link}",
        "{product} 싸게 사는 법 알려드림 {link} {들어가보세요|ㄱㄱ|클릭}",
        "오늘까지만 {product} {money} {link}",
    ],
    "gambling": [
        "{첫충|매충|신규가입} {pct} {토토|카지노|슬롯|바카라|파워볼} {먹튀없는|안전한|1등|메이저} 사이트 {link}",
        "{토토|카지노|바카라} 하실 분 {가입코드|추천코드} {code} {site}",
        "무제한 환전 {메이저놀이터|안전놀이터} {site} {가입머니|꽁머니} {money} 지급",
        "{슬롯|바카라|홀덤} {오늘|방금} {money} 땄어요 ㄷㄷ 여기서 {함 해보세요|ㄱㄱ} {link}",
        "스포츠 {배팅|베팅} 배당 최고 {site} 문의 {msg}",
    ],
    "coin_scam": [
        "{coin} {무료 지급|리딩방 모집|100배 수익 보장|급등 예정} {contact}",
        "{coin} 상장 전 {선취매|에어드랍} 정보 드립니다 {msg}",
        "수익률 {pct} 인증!! {주식|코인|선물} 리딩방 무료입장 {link}",
        "{coin} 지갑 연결하면 {coin} {n}개 받아요 {link}",
        "원금 보장 {코인|주식} 투자 {월 300|일 50만|주 100} 수익 {msg}",
    ],
    "follower_sale": [
        "{팔로워|구독자|시청자|좋아요|애청자} {n}명 {money|저렴하게|즉시} {늘려드림|작업해드려요|판매} {msg}",
        "방송 {시청자|채팅|트래픽} 늘리고 싶으신 분 {msg} 문의",
        "{platform} {구독자|팔로워} 구매 {link}",
        "시청자 봇 {n}명 {24시간|실시간} 유지 {money} {msg}",
        "{수익창출|파트너} 조건 {빠르게|일주일 안에} 맞춰드립니다 {구독자|시청시간} 작업 {contact}",
    ],
    "side_job": [
        "{알바 구함|고수익 부업|용돈벌이|재택 알바} {일당 20만|하루 1시간|초보 가능|폰만 있으면 됨} {msg}",
        "{주부|학생|직장인} 부업 {월 300|일 10만} 가능 {msg}로 연락주세요",
        "간단한 {리뷰|타이핑|좋아요 누르기} 알바 {건당 5천원|시급 3만} {msg}",
        "집에서 {폰으로|노트북으로} {money} 버는 법 {link}",
        "{부업|투잡} {하실분|구해요} {카톡|문자} 주세요 {msg} {선착순|오늘만} {n}명",
    ],
    "loan_phone": [
        "{대출 상담|급전 필요하신분|무직자 대출|소액결제 현금화|신불자 대출} {phone}",
        "{당일|즉시|무방문} {대출|입금} {money}까지 가능 ☎ {phone}",
        "{정보이용료|소액결제|상품권} 현금화 {pct} {phone}",
        "{신용|저신용} {상관없이|무관} 대출 문의 {phone} {msg}",
        "{휴대폰|핸드폰} {소액|한도} {즉시|당일} 현금 {money} 문자주세요 {phone}",
    ],
    "adult": [
        "{외로운|심심한} {분들|남성분} {만남|랜덤채팅} {link}",
        "{19금|성인} {방송|영상} 무료로 보는 곳 {link}",
        "{동네|근처} {친구|여친} 만들기 {앱|사이트} {link}",
        "{msg} 로 {사진|영상} 보내드림 {19|성인}",
        "{오늘밤|지금} {만날 분|영통하실 분} {msg} {❤|♥|💋}",
    ],
    "phishing_event": [
        "{축하합니다|당첨!!} {방송|채널} {이벤트|추첨} {당첨되셨습니다|선정} 상품 수령 {link}",
        "[{platform}] {무료 별풍선|무료 치즈|무료 후원 쿠폰} 받기 {link}",
        "{기프티콘|문상} {무료|공짜로} 받는 법 {link}",
        "선착순 {n}명 {money} {문화상품권|쿠폰} 지급 {link}",
        "{방송 시청자|채팅 참여자} 전원 {money} {포인트|캐시} 지급 {이벤트|행사} {link}",
    ],
    "fake_notice": [
        "[공지] {스트리머|방장} 계정 {정지 예정|신고 접수}, {확인|이의신청} {link}",
        "{운영자|관리자}입니다 {본인 인증|계정 보호} 필요합니다 {link}",
        "[{platform} 안내] {저작권 위반|약관 위반}으로 방송 종료 예정 {link}",
        "채널 {보안|인증} 만료 {24시간 내|오늘 중} 로그인 필요 {link}",
        "{platform} 고객센터: {비정상 로그인|해킹 시도} 감지 {비밀번호 변경|계정 확인} {link}",
    ],
    "cheat_rmt": [
        "{game} {에임핵|월핵|매크로|오토} 판매 {안전|탐지 안됨} {msg}",
        "{game} {계정|아이템|골드|다이아} {삽니다|팝니다|현금거래} {msg}",
        "{game} 대리 {랭크|티어} 올려드림 {money} {msg}",
        "{game} {작업장|매크로} {프로그램|계정} 싸게 {link}",
        "{game} {무료 캐시|쿠폰 코드} {생성기|뿌림} {code} {link}",
    ],
    "self_promo": [
        "{신입|초보|버튜버} 스트리머 {name}입니다 {많관부|놀러와주세요|구독 부탁드려요} {link}",
        "{제 채널|우리 방송} {구독|팔로우} 해주시면 {맞구독|맞팔} 해드려요 {link}",
        "{맞팔|맞구독} 하실 분 {msg}",
        "{platform}에서 {name} 검색해주세요 {매일 방송|24시간 방송} 중",
        "{지금|오늘} {game} 방송 {켰어요|시작했어요} {name} {보러 와주세요|구경 오세요} {link}",
    ],
    "copy_paste": [
        "{우리 방송|제 채널|신입 스트리머} {놀러오세요|구독 부탁|홍보합니다} ",
        "{link} {link} ",
        "{이 채팅 복사해서|이거 퍼뜨려주세요|5개 방에 붙여넣으면} {행운이 옵니다|당첨|ㄱㄱ} ",
        "{product} {money} {msg} ",
        "{구독|좋아요|알림설정} {부탁드립니다|눌러주세요} {name} ",
    ],
    "flood": ["{flood}", "{flood} {short}", "{구독|팔로우|홍보|하이} {flood}", "{flood} {msg}",
              "{name} {방송|채널} {flood}"],
    "spaced_out": [
        _BAIT + " {contact}",
        "{contact} " + _BAIT + " {ㄱㄱ|문의|환영}",
        _BAIT + " " + _BAIT,
        "{오늘만|지금} " + _BAIT + " {문의|상담} {contact}",
    ],
    "dotted": [
        _BAIT + " {contact}",
        _BAIT + " {지금|오늘만} {contact}",
        "{contact} " + _BAIT,
        _BAIT + " " + _BAIT + " {contact} {24시|연중무휴}",
    ],
    "qwerty_hangul": [
        _BAIT + " {contact}",
        _BAIT + " {gogo|ㄱㄱ} {contact}",
        "{contact} " + _BAIT + " {문의|ㄱㄱ}",
        "{지금|오늘만} " + _BAIT + " " + _BAIT + " {contact}",
    ],
    "jamo_mix": [
        _BAIT + " {contact}",
        "{지금|오늘} " + _BAIT + " {contact}",
        _BAIT + "!! {contact}",
        "{contact} {로|으로} " + _BAIT + " {문의|ㄱㄱ}",
    ],
    "spelled_link": [
        "{카지노|토토|코인|부업|팔로워} {가입|문의|구매} {spelled}",
        "{spelled} {들어와|검색|접속} {첫충|무료|할인}",
        "주소 {spelled} {복붙|입력}하세요",
        "검색창에 {spelled} {치면 나옴|검색}",
        "{무료 코인|꽁머니|할인 쿠폰} {받는 곳|주는 곳} {spelled}",
    ],
}


# --------------------------------------------------------------- evasion spelling
_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
# Dubeolsik (standard Korean keyboard) keys for each initial / medial / final jamo.
_CHO_KEYS = "r R s e E f a q Q t T d w W c z x v g".split()
_JUNG_KEYS = "k o i O j p u P h hk ho hl y n nj np nl b m ml l".split()
_JONG_KEYS = [""] + "r R rt s sw sg e f fr fa fq ft fx fv fg a q qt t T d w c z x v g".split()
_LOOKALIKE = {"ㅏ": "r", "ㅣ": "l", "ㅗ": "⊥", "ㅡ": "_", "ㅜ": "T", "ㅓ": "+", "ㅇ": "o"}


def _decompose(ch: str) -> tuple[int, int, int] | None:
    code = ord(ch) - 0xAC00
    if not 0 <= code < 11172:
        return None
    return code // 588, (code % 588) // 28, code % 28


def qwerty(text: str) -> str:
    """Hangul as typed with the keyboard left in English mode: `카지노` -> `zkwlsh`."""
    out = []
    for ch in text:
        parts = _decompose(ch)
        out.append(ch if parts is None else
                   _CHO_KEYS[parts[0]] + _JUNG_KEYS[parts[1]] + _JONG_KEYS[parts[2]])
    return "".join(out)


def jamo_mix(text: str, rng: random.Random, share: float = 0.5) -> str:
    """Some syllables broken into loose jamo, vowels sometimes as look-alikes: `ㅋr지노`."""
    out = []
    for ch in text:
        parts = _decompose(ch)
        if parts is None or rng.random() > share:
            out.append(ch)
            continue
        jung = _JUNG[parts[1]]
        if rng.random() < 0.5:
            jung = _LOOKALIKE.get(jung, jung)
        out.append(_CHO[parts[0]] + jung + _JONG[parts[2]].strip())
    return "".join(out)


def spaced_out(text: str, rng: random.Random) -> str:
    """Letters pulled apart so word filters miss them: `카 지 노 가 입`."""
    sep = rng.choice([" ", " ", "  ", "/", "|"])
    return " ".join(sep.join(word) for word in text.split())


def _some_words(text: str, rng: random.Random, change: Callable[[str], str],
                eligible: Callable[[str], bool]) -> str:
    """`change` applied to a random non-empty subset of the eligible words."""
    words = text.split()
    candidates = [i for i, word in enumerate(words) if eligible(word)]
    chosen = set(rng.sample(candidates, rng.randint(1, len(candidates)))) if candidates else set()
    return " ".join(change(word) if i in chosen else word for i, word in enumerate(words))


def dotted(text: str, rng: random.Random) -> str:
    """Dots, digits or symbols pushed inside words: `카.지.노`, `토0토`."""
    sep = rng.choice([".", "0", "_", "*", "-", "ㆍ", "1", "^", ","])
    return _some_words(text, rng, sep.join, lambda word: len(word) > 1)


def qwerty_some(text: str, rng: random.Random) -> str:
    """Some Hangul words typed in English keyboard mode (see qwerty)."""
    return _some_words(text, rng, qwerty, lambda word: any(_decompose(ch) for ch in word))


# Transforms apply to the bait phrase only (the `_BAIT` fields), so contact details stay real.
TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "spaced_out": spaced_out,
    "dotted": dotted,
    "qwerty_hangul": qwerty_some,
    "jamo_mix": jamo_mix,
}


def _spelled(rng: random.Random) -> str:
    """A link written so a URL filter misses it: `win777 닷컴`, `b i t . l y / abc`."""
    site = rng.choice(SITES).split(".")[0]
    short = rng.choice(SHORTENERS).split(".")
    tail = _token(rng, 4)
    return rng.choice([
        f"{site} {rng.choice(['닷컴', '쩜컴', '.컴', '점 com', '(.)com'])}",
        f"{' '.join(short[0])} {rng.choice(['.', '쩜', '점', 'dot'])} {' '.join(short[1])} / {tail}",
        f"{rng.choice(['www', 'ww w', '더블유3개'])} {rng.choice(['.', '쩜', '점'])} {site} "
        f"{rng.choice(['.', '쩜', '점'])} {rng.choice(['com', 'kr', 'net', '컴'])}",
        f"h t t p s : / / {' '.join(site[:6])}",
    ])


def _flood(rng: random.Random) -> str:
    unit = rng.choice(FLOOD_UNITS)
    count = rng.randint(12, 40)
    style = rng.randrange(3)
    if style == 0:
        return " ".join([unit] * count)
    if style == 1:
        return unit * count
    other = rng.choice(FLOOD_UNITS)
    return " ".join(rng.choice([unit, other]) for _ in range(count))


SLOTS.update(spelled=_spelled, flood=_flood)
_FIELD = re.compile(r"\{([^{}]+)\}")


def fill(template: str, rng: random.Random, transform=None) -> str:
    """A template with every `{slot}` / `{a|b}` field filled; `transform` rewrites
    inline-alternative fields (the bait words) but never SLOTS values (links, ids)."""
    def one(match: re.Match) -> str:
        field = match.group(1)
        if field in SLOTS:
            return SLOTS[field](rng)
        value = rng.choice(field.split("|"))
        return transform(value, rng) if transform else value
    return _FIELD.sub(one, template)


def _maker(kind: str, index: int) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        text = fill(TEMPLATES[kind][index], rng, TRANSFORMS.get(kind))
        if kind == "copy_paste":
            text = text * rng.randint(3, 6)
        return text
    make.__doc__ = f"One `{kind}` spam message from template {index}."
    return make


# A family is one phrasing template, named `kind/index` (`gambling/2`); a kind is one
# TEMPLATES entry. Ingest holds whole families out of training (see kind_of).
KINDS: list[str] = sorted(TEMPLATES)
FAMILIES: dict[str, Callable[[random.Random], str]] = {
    f"{kind}/{i}": _maker(kind, i) for kind in KINDS for i in range(len(TEMPLATES[kind]))}


def kind_of(family: str) -> str:
    """`gambling/2` -> `gambling` (a family name without a `/` is its own kind)."""
    return family.split("/", 1)[0]


def _resolve(families: list[str] | None) -> dict[str, list[str]]:
    """kind -> allowed families, from kind names and/or family names (default: all)."""
    names = families or KINDS
    unknown = [n for n in names if n not in FAMILIES and n not in TEMPLATES]
    if unknown:
        raise KeyError(f"unknown spam kinds or families {sorted(unknown)}; "
                       f"kinds: {KINDS}; families are KIND/INDEX, e.g. gambling/0")
    out: dict[str, list[str]] = {}
    for name in names:
        members = [name] if name in FAMILIES else [f for f in FAMILIES if kind_of(f) == name]
        bucket = out.setdefault(kind_of(name), [])
        bucket += [m for m in members if m not in bucket]
    return out


def generate_one(rng: random.Random, families: list[str] | None = None) -> dict:
    """One spam message {text, family}, from the given kinds or families (default: all)."""
    allowed = _resolve(families)
    family = rng.choice(allowed[rng.choice(sorted(allowed))])
    return {"text": normalize_text(FAMILIES[family](rng)), "family": family}


def generate(n: int, seed: int = 11, families: list[str] | None = None) -> list[dict]:
    """`n` spam rows {text, family} with unique texts: kinds taken in turn (balanced), the
    template drawn at random within the kind. `families` limits kinds and/or families."""
    allowed = _resolve(families)
    kinds = sorted(allowed)
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    misses = 0
    while len(rows) < n:
        row = generate_one(rng, allowed[kinds[len(rows) % len(kinds)]])
        if not row["text"] or row["text"] in seen:
            misses += 1
            if misses > 50 * n + 1000:
                raise RuntimeError(f"could only generate {len(rows)} unique spam texts of {n}")
            continue
        seen.add(row["text"])
        rows.append(row)
    return rows
