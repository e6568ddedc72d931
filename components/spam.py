"""Synthetic Korean live-chat spam, composed by intent from open slot vocabularies.

There is no public Korean live-chat spam set, so the project generates its own. A model
trained on a few fixed phrasings learns the phrasings, not the spam, so every message here
is composed: an INTENT (what the spammer wants: `dm_invite`, `stock_coin`, `cheap_offer`,
`app_move`, `fake_giveaway`, `adult`, `gambling`, `promo_channel`) supplies hooks, things
and offers; a STRUCTURE (a way of combining and ordering the parts: a bare pitch, a deal
with a quantity and a price, a pitch with a contact, a `~하실 분` question, a long notice,
a first-person story) puts them together with open slots: random quantities and prices,
calls to action in a polite or casual register, contacts (invented ids, messenger names
with spaced/dotted evasions, invented URLs, shorteners, links spelled out, phones), emoji
and punctuation noise, sometimes an evasion spelling of the keyword (`카.지.노`, `ㅋr지노`,
`zkwlsh`), sometimes the whole message pasted twice.

A row's kind is its intent; its family is `intent/structure` (`gambling/2`), so a split can
hold whole structures of every intent out of training (components.ingest.stratified_split;
`data.spam_holdout: kind` holds whole intents out instead, a harder stress test). To add
words, extend a tuple; to add an intent, add an INTENTS and a STORIES entry; to add a
structure, add a function to STRUCTURES (it becomes family N of every intent).
"""
from __future__ import annotations

import random
import string
from typing import Callable

from components.labels import normalize_text


def _t(words: str) -> tuple[str, ...]:
    """A compact vocabulary: `"a|b c|d"` -> ("a", "b c", "d")."""
    return tuple(words.split("|"))


# ---------------------------------------------------------------- intent vocabularies
# hook: opener/adjective; thing: what is offered; offer: a 하다-stem verb noun (an ending
# from ENDINGS follows); unit: quantity units; price: price phrases around a random {p};
# contact: CONTACTS kinds (repeat = weight); cta: calls to action added to the shared CTA.
INTENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "dm_invite": dict(
        hook=_t("VIP|무료|비공개|선착순|프리미엄|소수정예|회원 전용|1:1|오늘만|시크릿|특급|마지막"),
        thing=_t("리딩방|오픈채팅|오픈톡|단톡방|정보방|비밀방|VIP방|톡방|수익방|시그널방|채팅방|그룹방"),
        offer=_t("모집|입장|초대|오픈|개설|안내|참여|무료 입장"),
        unit=_t("명|자리"), price=_t("입장료 {p}|월 {p}|가입비 {p}|평생 {p}|{p}"),
        contact=_t("msg|msg|id|short|url"),
        cta=_t("비번은 DM|입장 링크는 프로필|선착순 마감|자리 문의")),
    "stock_coin": dict(
        hook=_t("급등|상장 예정|원금 보장|고수익|확정 수익|세력|단타|내일 오를|무료 추천|100% 적중"),
        thing=_t("코인|비트코인|리플|도지|이더리움|알트코인|주식|급등주|테마주|선물|해외선물|밈코인|"
                 "신규코인|종목|에어드랍"),
        offer=_t("추천|정보 공유|리딩|분석|상담|수익 인증|매수 안내|투자"),
        unit=_t("%|배|만원|억"), price=_t("가입비 {p}|월 {p}|수수료 {p}|최소 {p}부터|회비 {p}"),
        contact=_t("msg|msg|short|url|phone"),
        cta=_t("무료 상담|지금 입장|수익 확인|종목 받기")),
    "cheap_offer": dict(
        hook=_t("최저가|초특가|할인|반값|당일|즉시|안전|정품|한정|업계 최저가|저렴하게|빠르게|"
                "실계정"),
        thing=_t("팔로워|구독자|좋아요|시청자|조회수|댓글|하트|별풍선|닉네임|계정|리뷰|게임 골드|"
                 "게임 계정|기프티콘|문상|트래픽|추천수|시청시간"),
        offer=_t("판매|구매|대행|작업|충전|세팅|관리|증가"),
        unit=_t("명|개|회|건"), price=_t("{p}|{p}|개당 {p}|명당 {p}|단돈 {p}|특가 {p}|{p}부터"),
        contact=_t("msg|id|url|short|spelled|phone"),
        cta=_t("구매 문의|견적 DM|가격 문의|작업 문의")),
    "app_move": dict(
        hook=_t("자세한 건|나머지는|비밀 정보는|자료는|1:1 상담은|진짜 정보는|여기선 말 못함|"
                "채팅 막혀서|문의는|사진은"),
        thing=_t("텔레|텔레그램|텔그|카톡|카카오톡|오픈카톡|디코|디스코드|라인|밴드|위챗|시그널|"
                 "인스타 DM"),
        offer=_t("이동|연락|상담|대화|친추|추가|안내"),
        unit=_t("명|분"), price=_t("상담료 0원|무료|{p} 지급|가입 {p} 지원"), contact=_t("id|id|msg|phone"),
        cta=_t("친추 ㄱ|추가 부탁|아이디 검색|친구추가 해주세요")),
    "fake_giveaway": dict(
        hook=_t("축하합니다|당첨!|이벤트|무료|공짜|선착순|전원|100% 당첨|한정|오늘만|깜짝|감사"),
        thing=_t("기프티콘|문화상품권|문상|치킨 쿠폰|에어팟|아이폰|별풍선|치즈|후원 쿠폰|게임 쿠폰|"
                 "현금|포인트|스벅 쿠폰|편의점 상품권"),
        offer=_t("지급|증정|나눔|추첨|당첨|수령|배포"),
        unit=_t("명|개|만원|원"), price=_t("{p} 상당|{p}권|{p} 지급|{p} 쿠폰|총 {p}"),
        contact=_t("short|url|spelled|msg"),
        cta=_t("수령하세요|지금 받기|응모 ㄱㄱ|당첨 확인")),
    "adult": dict(
        hook=_t("외로운 분|심심한 분|19|성인|비밀|오늘밤|근처|몰래|무료|은밀한|20대"),
        thing=_t("만남|랜덤채팅|영통|톡친구|밤친구|커플 매칭|19 방송|비밀 채팅|사진 교환|애인대행"),
        offer=_t("매칭|연결|대화|만남|공유|모집|채팅"),
        unit=_t("명|살|분"), price=_t("무료|가입비 0원|1회 {p}|{p}"), contact=_t("short|url|msg|id|spelled"),
        cta=_t("연락 기다릴게요|톡 주세요|프사 확인|기다리는 중")),
    "gambling": dict(
        hook=_t("첫충|매충|신규 가입|꽁머니|무제한 환전|먹튀 없는|메이저|안전|1등|가입머니|페이백|"
                "먹튀 검증"),
        thing=_t("토토|카지노|바카라|슬롯|홀덤|파워볼|스포츠 배팅|라이브 카지노|사설 토토|미니게임|"
                 "놀이터"),
        offer=_t("가입|추천|환전|충전|배팅|입금|보장"),
        unit=_t("%|만원|배"), price=_t("꽁머니 {p}|가입머니 {p}|최소 {p}|{p} 지급|첫충 {p}"),
        contact=_t("url|spelled|code|short|msg"),
        cta=_t("가입 ㄱㄱ|코드 입력|지금 가입|주소 확인")),
    "promo_channel": dict(
        hook=_t("신입|초보|버튜버|소통|매일|24시간|구독자 0명|새로 시작한|작은|신규"),
        thing=_t("채널|방송|유튜브|숲 방송|치지직 방송|트위치|틱톡|인스타|쇼츠|라이브"),
        offer=_t("홍보|맞구독|맞팔|구독|팔로우|시청|방문"),
        unit=_t("명"), price=_t("무료|구독 이벤트 {p}|시청자 선물 {p}"), contact=_t("handle|handle|url|short"),
        cta=_t("구독 부탁드려요|놀러오세요|알림설정 부탁|검색해주세요|맞구독 ㄱ")),
}
# First-person lures, one tuple per intent ({thing} {qty} {price} {pct} {x} {money};
# {thing_ro} is the thing with 로/으로).
STORIES: dict[str, tuple[str, ...]] = {
    "dm_invite": _t("{thing} 들어가고 한달 {money} 벌었어요|{thing}에서 매일 무료 정보 받는 중|"
                    "어제 {thing}에서 찍어준 거 {x} 감|{thing} {qty} 남았어요|{thing} 덕분에 {pct} 수익"),
    "stock_coin": _t("{thing} {pct} 수익 인증합니다|{thing_ro} 한달에 {money} 벌었어요|내일 {thing} "
                     "급등 확정 정보 있음|{thing} {x} 간 거 보셨나요|{thing} 투자 월 {money} 가능"),
    "cheap_offer": _t("{thing} 여기서 샀는데 진짜 {price}임|방송 키우려면 {thing} 필수임|{thing} {qty} "
                      "넣고 바로 인기탭 감|다들 {thing} 사서 하는 거 모르셨죠|{thing} {qty} {price}에 해드림"),
    "app_move": _t("여기선 말 못해요 {thing_ro} 오세요|자세한 얘기는 {thing}에서 해요|{thing}에 자료 다 "
                   "올려둠|채팅 막혀서 {thing_ro} 옮겼어요|{thing} 방에 {qty} 모여있음"),
    "fake_giveaway": _t("{thing} 진짜 받았어요 ㄷㄷ|방금 {thing} {qty} 당첨됨|시청자 전원 {thing} 지급 "
                        "이벤트 중|축하합니다 {thing} 당첨되셨습니다|{thing} 수령 기한 오늘까지입니다"),
    "adult": _t("심심해서 들어왔는데 {thing} 하실 분|오늘 밤 {thing} 할 사람|외로운 분들 {thing} 무료로 "
                "해요|근처 {thing} 찾는 중인데|{qty} 대기중 {thing} 바로 가능"),
    "gambling": _t("{thing_ro} 오늘 {money} 땄어요 ㄷㄷ|{thing} 첫충 {pct} 받고 시작함|먹튀 없는 {thing} "
                   "드디어 찾음|어제 {thing} {x} 터졌어요|{thing} 환전 {money} 바로 됨"),
    "promo_channel": _t("신입 스트리머인데 {thing} 놀러와 주세요|{thing} 구독해주시면 맞구독 갑니다|저도 "
                        "{thing} 하는데 서로 맞구독해요|오늘 {thing} 첫 방송해요|{thing} 구독자 {qty} 달성 도와주세요"),
}

# ------------------------------------------------------------------ shared vocabularies
CTA = {"polite": _t("DM 주세요|디엠 주세요|DM 부탁드려요|프로필 확인해주세요|프로필 링크 확인해주세요|"
                    "링크 클릭해주세요|링크 확인하세요|문의 주세요|문의 바랍니다|입장하세요|연락 주세요|"
                    "들어오세요|확인해 보세요|쪽지 주세요|귓말 주세요"),
       "casual": _t("DM|디엠 ㄱ|DM ㄱㄱ|프로필 ㄱ|프로필 확인|링크 클릭|링크 ㄱㄱ|문의|문의 ㄱ|입장|입장 ㄱ|"
                    "ㄱㄱ|ㄱㄱㄱ|연락 ㄱ|들와|프사 확인|클릭|ㄱ?")}
ENDINGS = {"polite": _t("합니다|해요|해드려요|해드립니다| 가능합니다| 진행합니다| 중입니다|"),
           "casual": _t("함|해드림|해줌| 가능| ㄱㄱ| 중|| ㄱ")}
ASK = {"polite": _t("하실 분|필요하신 분|관심 있으신 분|원하시는 분|찾으시는 분|궁금하신 분"),
       "casual": _t("할 사람|필요한 사람|하실분?|관심있음?|ㄱ?|구함|할 분")}
TAGS = _t("[광고]|[홍보]|(광고)|📢|【공지】|★이벤트★|[안내]|※필독※|<특가>|[EVENT]")
NOISE = _t("🔥|💰|✅|👉|📢|🎁|💎|⭐|❤️|💋|🎰|📈|🚀|!!|~~|♥|★|☆|▶|※|^^|!!!|ㄷㄷ|ㅎㅎ|💯|⚡")
MESSENGERS = _t("카톡|카카오톡|카카오|ㅋㅌ|오픈카톡|오픈톡|텔레|텔레그램|텔그|TG|디코|디스코드|라인|LINE|"
                "밴드|위챗|WeChat|시그널")
PLATFORMS = _t("유튜브|숲|치지직|트위치|인스타|틱톡")
SYLLABLES = _t("vip|win|lucky|gold|king|star|moon|sky|bit|coin|love|hot|mega|top|best|ace|cash|"
               "money|pro|real|boss|hana|min|jun|seo|ji|woo|kim|lee|park|chat|talk|happy|joy|max|"
               "good|zzang|ggul|bet|spin|fan|tube|live|dream")
TLDS = _t("com|net|kr|co.kr|xyz|shop|site|io|me|top|vip|bet|club|link|info|store|cc|app")
SHORTENERS = _t("bit.ly|me2.do|han.gl|vo.la|url.kr|t.ly|is.gd|tinyurl.com|zrr.kr|buly.kr|goo.su|"
                "t.co")
# Hand-written probes of the independent check: never emitted verbatim, so they stay unseen.
PROBES = frozenset(normalize_text(t) for t in (
    "VIP 리딩방 입장 DM 주세요", "팔로워 1000명 5천원 DM 주세요", "닉네임 대행 작업 프로필 링크 확인"))


# ------------------------------------------------------------------------- contacts
def _token(rng: random.Random, n: int = 6) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def _id(rng: random.Random) -> str:
    """An invented account id: `lucky_moon`, `vip4821`, `k3x9qz`."""
    a, b = rng.choice(SYLLABLES), rng.choice(SYLLABLES + (_token(rng, 3),))
    return rng.choice([f"{a}{rng.randint(1, 9999)}", f"{a}_{b}", f"{a}{b}{rng.randint(0, 99)}",
                       _token(rng, rng.randint(4, 9)), f"{a}.{b}{rng.randint(1, 999)}"])


def _domain(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(SYLLABLES) + rng.choice(["", "-", ""]) + rng.choice(
        SYLLABLES + (str(rng.randint(1, 999)),))
    return name, rng.choice(TLDS)


def _url(rng: random.Random) -> str:
    name, tld = _domain(rng)
    path = rng.choice(["", "", f"/{_token(rng, rng.randint(3, 6))}", "/event", "/join",
                       f"/?code={_token(rng, 4)}"])
    return f"{rng.choice(['', 'www.', 'https://', 'http://'])}{name}.{tld}{path}"


def _spelled(rng: random.Random) -> str:
    """A link written so a URL filter misses it: `win777 점 com`, `w w w 쩜 lucky 쩜 kr`."""
    name, tld = _domain(rng)
    dot = rng.choice(["점", "쩜", "닷", ".", "(.)", "dot", "[.]"])
    return rng.choice([f"{name} {dot} {tld}", f"{name} 닷컴", f"{' '.join(name)} . {' '.join(tld)}",
                       f"w w w {dot} {name} {dot} {tld}", f"{name}{dot}{tld}"])


def _phone(rng: random.Random) -> str:
    sep = rng.choice(["-", " ", ".", ""])
    if rng.random() < 0.2:
        return f"1588{sep}{rng.randint(1000, 9999)}"
    head = rng.choice(["010", "010", "070"])
    return f"{head}{sep}{rng.randint(1000, 9999)}{sep}{rng.randint(1000, 9999)}"


def _msg_id(rng: random.Random) -> str:
    """A messenger name (sometimes spelled evasively: `텔.레`, `카 톡`) and an id."""
    sep = rng.choice([" ", ": ", " ID ", " 아이디 ", " @", " → "])
    return f"{_evade(rng.choice(MESSENGERS), rng, 0.35)}{sep}{_id(rng)}"


CONTACTS: dict[str, Callable[[random.Random], str]] = {
    "msg": _msg_id,
    "id": lambda r: r.choice(["@", "ID ", "아이디 ", ""]) + _id(r),
    "url": _url,
    "short": lambda r: f"{r.choice(['', 'https://'])}{r.choice(SHORTENERS)}/{_token(r, 5)}",
    "spelled": _spelled,
    "phone": _phone,
    "code": lambda r: f"{r.choice(['가입코드', '추천코드', '코드'])} {_token(r, 4).upper()} {_url(r)}",
    "handle": lambda r: f"{r.choice(PLATFORMS)} {r.choice(['', '@'])}{_id(r)}"
                        f"{r.choice(['', ' 검색'])}",
}


# ---------------------------------------------------------------- numbers and prices
def _count(rng: random.Random) -> str:
    """A count in any of the usual spellings: 300, 1000, 1,000, 1천, 3만."""
    n = rng.choice([rng.randint(1, 9) * 10 ** rng.randint(1, 4), rng.randint(11, 999),
                    rng.randint(1, 99) * 1000])
    if n % 10000 == 0 and rng.random() < 0.5:
        return f"{n // 10000}만"
    if n % 1000 == 0 and n < 10000 and rng.random() < 0.4:
        return f"{n // 1000}천"
    return f"{n:,}" if n >= 1000 and rng.random() < 0.4 else str(n)


def _qty(rng: random.Random, units: tuple[str, ...]) -> str:
    unit = rng.choice(units)
    n = {"%": rng.randint(1, 60) * 5, "배": rng.randint(2, 50), "만원": rng.randint(1, 999),
         "억": rng.randint(1, 20), "살": rng.randint(20, 39), "자리": rng.randint(1, 30),
         "원": rng.randint(1, 99) * 1000}.get(unit)
    return f"{_count(rng) if n is None else n}{unit}"


def _price(rng: random.Random) -> str:
    """A price: 5천원, 5,000원, 3만 원, 9900원, 990원, ..."""
    v = rng.choice([rng.randint(1, 99) * 100, rng.randint(1, 9) * 1000, rng.randint(1, 99) * 10000,
                    rng.choice([10, 50, 990, 4900, 9900, 19900, 29900, 49000])])
    if v % 10000 == 0:
        text = rng.choice([f"{v // 10000}만원", f"{v // 10000}만 원", f"{v // 10000}만", f"{v:,}원"])
    elif v % 1000 == 0 and v < 10000:
        text = rng.choice([f"{v // 1000}천원", f"{v:,}원", f"{v}원", f"{v // 1000}천"])
    else:
        text = rng.choice([f"{v:,}원", f"{v}원"])
    return text


# ------------------------------------------------------------------ evasion spelling
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
    """Letters pulled apart so word filters miss them: `카 지 노 가 입`, `텔/레`."""
    sep = rng.choice([" ", " ", "  ", "/", "|"])
    return " ".join(sep.join(word) for word in text.split())


def dotted(text: str, rng: random.Random) -> str:
    """Dots, digits or symbols pushed inside words: `카.지.노`, `토0토`."""
    sep = rng.choice([".", ".", "0", "_", "*", "-", "ㆍ", "1", "^", ","])
    return " ".join(sep.join(word) if len(word) > 1 else word for word in text.split())


def _ro(word: str) -> str:
    """The particle 로/으로 that follows `word` (으로 after a final consonant other than ㄹ)."""
    parts = _decompose(word[-1]) if word else None
    return "으로" if parts and parts[2] not in (0, 8) else "로"


def _evade(word: str, rng: random.Random, share: float) -> str:
    """`word` as is, or (with probability `share`) in one evasion spelling."""
    if rng.random() >= share or len(word) < 2:
        return word
    trick = rng.choice([spaced_out, dotted, dotted, jamo_mix, lambda w, _: qwerty(w)])
    return trick(word, rng)


# ------------------------------------------------------------------------ structures
# A structure takes the drawn parts and returns the words of one message, in order.
def _bare(p: dict, rng: random.Random) -> list[str]:
    """3-5 words: `[hook] thing offer cta`."""
    return ([p["hook"]] if rng.random() < 0.6 else []) + [p["thing"], p["offer"], p["cta"]]


def _deal(p: dict, rng: random.Random) -> list[str]:
    """A quantity and/or a price: `thing qty price cta|contact` (middle shuffled)."""
    middle = rng.sample([p["qty"], p["price"]], rng.choice([1, 2, 2]))
    tail = rng.choice([[p["cta"]], [p["contact"]], [p["cta"], p["contact"]]])
    return [p["thing"], *middle, *tail]


def _with_contact(p: dict, rng: random.Random) -> list[str]:
    """A pitch with a contact, the contact first or last: `hook thing offer contact [cta]`."""
    body = ([p["hook"]] if rng.random() < 0.7 else []) + [p["thing"], p["offer"]]
    ends = [p["contact"]] + ([p["cta"]] if rng.random() < 0.5 else [])
    return ends + body if rng.random() < 0.3 else body + ends


def _ask(p: dict, rng: random.Random) -> list[str]:
    """A question to the chat: `[hook] thing 하실 분` then cta and/or contact."""
    tail = rng.sample([p["cta"], p["contact"]], rng.randint(1, 2))
    return ([p["hook"]] if rng.random() < 0.5 else []) + [p["thing"], p["ask"], *tail]


def _notice(p: dict, rng: random.Random) -> list[str]:
    """A long ad: tag, pitch, two or three details, contact and cta in either order."""
    head = [p["tag"], p["hook"], p["thing"], p["offer"] + rng.choice(",!~.") * rng.randint(0, 2)]
    details = rng.sample([p["qty"], p["price"], p["story"]], rng.randint(2, 3))
    return head + details + rng.sample([p["contact"], p["cta"]], 2)


def _story(p: dict, rng: random.Random) -> list[str]:
    """A first-person lure: `[와|진짜] story cta|contact`."""
    lead = rng.choice(["", "", "와", "진짜", "ㄹㅇ", "솔직히", "여러분", "님들"])
    return [lead, p["story"], *rng.choice([[p["cta"]], [p["contact"]], [p["cta"], p["contact"]]])]


STRUCTURES: tuple[Callable[[dict, random.Random], list[str]], ...] = (
    _bare, _deal, _with_contact, _ask, _notice, _story)


def _parts(intent: str, rng: random.Random) -> dict:
    """Every slot of one message of `intent`, drawn in one register."""
    v, reg = INTENTS[intent], rng.choice(["polite", "casual"])
    thing = _evade(rng.choice(v["thing"]), rng, 0.12)
    qty, price = _qty(rng, v["unit"]), rng.choice(v["price"]).format(p=_price(rng))
    story = rng.choice(STORIES[intent]).format(
        thing=thing, thing_ro=thing + _ro(thing), qty=qty, price=price,
        pct=f"{rng.randint(1, 60) * 5}%", x=f"{rng.randint(2, 50)}배",
        money=rng.choice([f"{rng.randint(1, 999)}만원", f"{rng.randint(1, 9)}억",
                          f"{rng.randint(10, 999)}만"]))
    return {"hook": rng.choice(v["hook"]), "thing": thing, "qty": qty, "price": price,
            "story": story, "offer": rng.choice(v["offer"]) + rng.choice(ENDINGS[reg]),
            "cta": rng.choice(CTA[reg] + v["cta"]), "ask": rng.choice(ASK[reg]),
            "contact": CONTACTS[rng.choice(v["contact"])](rng), "tag": rng.choice(TAGS)}


def compose(intent: str, structure: int, rng: random.Random) -> str:
    """One message: the structure's words, emoji/punctuation noise, sometimes pasted twice."""
    words = [w for w in STRUCTURES[structure](_parts(intent, rng), rng) if w]
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        words.insert(rng.choice([0, len(words), len(words), rng.randint(0, len(words))]),
                     rng.choice(NOISE) * rng.choice([1, 1, 1, 2, 3]))
    if rng.random() < 0.15:
        i = rng.randrange(len(words))
        words[i] += rng.choice(["!!", "~", "?", "!", "...", "ㅎㅎ"])
    text = normalize_text(" ".join(words))
    if rng.random() < 0.04 and len(text) < 90:
        text = " ".join([text] * rng.randint(2, 3))
    return text if len(text) <= 300 else text[:300].rsplit(" ", 1)[0]


# ------------------------------------------------------------------------- families
# A kind is an intent; a family is `intent/structure` (`gambling/2`). Ingest holds whole
# families out of training (see kind_of).
KINDS: list[str] = sorted(INTENTS)
FAMILIES: dict[str, Callable[[random.Random], str]] = {
    f"{kind}/{i}": (lambda rng, kind=kind, i=i: compose(kind, i, rng))
    for kind in KINDS for i in range(len(STRUCTURES))}


def kind_of(family: str) -> str:
    """`gambling/2` -> `gambling` (a family name without a `/` is its own kind)."""
    return family.split("/", 1)[0]


def _resolve(families: list[str] | None) -> dict[str, list[str]]:
    """kind -> allowed families, from kind names and/or family names (default: all)."""
    names = families or KINDS
    unknown = [n for n in names if n not in FAMILIES and n not in INTENTS]
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
    while True:
        text = normalize_text(FAMILIES[family](rng))
        if text not in PROBES:
            return {"text": text, "family": family}


def generate(n: int, seed: int = 11, families: list[str] | None = None) -> list[dict]:
    """`n` spam rows {text, family} with unique texts: kinds taken in turn (balanced), the
    structure drawn at random within the kind. `families` limits kinds and/or families."""
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
