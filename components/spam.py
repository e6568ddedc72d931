"""Synthetic Korean chat spam, by template family.

There is no public Korean live-chat spam set, so the project generates its own. Each
family is a kind of spam seen in Korean live chat; every generated row records its
family so a split can hold whole families out of training (unseen phrasings in test).
See docs/data.md for the list and how to add a family.
"""
from __future__ import annotations

import random
import string

DOMAINS = ["bit.ly", "me2.do", "han.gl", "vo.la", "url.kr", "t.ly", "is.gd", "tinyurl.com"]
SITES = ["win-777.com", "coin-free.net", "vipbet.kr", "follow-up.shop", "starbet88.com",
         "ggsale.co", "freecoin.io", "hotdeal24.net"]
MESSENGERS = ["카톡", "카카오톡", "텔레", "텔레그램", "라인", "오픈카톡", "카톡ID", "텔ㄹ"]
COINS = ["비트코인", "리플", "도지", "이더리움", "신규코인", "상장예정 코인"]
FLOOD_UNITS = ["구독", "좋아요", "ㅋ", "ㄱㄱ", "!!", "♥", "★", "방송홍보"]


def _token(rng: random.Random, n: int = 6) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def _link(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(['', 'https://', 'http://'])}{rng.choice(DOMAINS)}/{_token(rng, 5)}"
    return f"{rng.choice(['', 'www.', 'https://'])}{rng.choice(SITES)}"


def _phone(rng: random.Random) -> str:
    sep = rng.choice(["-", " ", ".", ""])
    return f"010{sep}{rng.randint(1000, 9999)}{sep}{rng.randint(1000, 9999)}"


def _messenger(rng: random.Random) -> str:
    return f"{rng.choice(MESSENGERS)} {rng.choice(['', 'ID ', ': '])}{_token(rng, rng.randint(4, 8))}"


FAMILIES = {
    "ad_link": lambda r: f"{r.choice(['최저가', '초특가', '오늘만', '한정수량'])} "
                         f"{r.choice(['게이밍 마우스', '기프티콘', '문화상품권', '스킨'])} "
                         f"{r.choice(['판매합니다', '할인중', '뿌립니다'])} {_link(r)}",
    "gambling": lambda r: f"{r.choice(['첫충 30%', '매충 10%', '무제한 환전', '신규가입 3만'])} "
                          f"{r.choice(['토토', '카지노', '슬롯', '바카라'])} "
                          f"{r.choice(['먹튀없는', '안전한', '1등'])} 사이트 {_link(r)}",
    "coin_scam": lambda r: f"{r.choice(COINS)} {r.choice(['무료 지급', '리딩방 모집', '100배 수익 보장'])} "
                           f"{r.choice([_messenger(r), _link(r)])}",
    "follower_sale": lambda r: f"{r.choice(['팔로워', '구독자', '시청자', '좋아요'])} "
                               f"{r.choice([100, 500, 1000, 5000])}명 "
                               f"{r.choice(['5천원', '만원', '저렴하게', '즉시'])} "
                               f"{r.choice(['늘려드림', '작업해드려요', '판매'])} {_messenger(r)}",
    "messenger_id": lambda r: f"{r.choice(['알바 구함', '고수익 부업', '용돈벌이', '재택 알바'])} "
                              f"{r.choice(['일당 20만', '하루 1시간', '초보 가능'])} {_messenger(r)}",
    "phone": lambda r: f"{r.choice(['대출 상담', '급전 필요하신분', '무직자 대출', '소액결제 현금화'])} "
                       f"{_phone(r)}",
    "flood": lambda r: " ".join([r.choice(FLOOD_UNITS)] * r.randint(12, 30)),
    "copy_paste": lambda r: (f"{r.choice(['우리 방송', '제 채널', '신입 스트리머'])} "
                             f"{r.choice(['놀러오세요', '구독 부탁', '홍보합니다'])} ") * r.randint(3, 5),
    "evasion": lambda r: f"{r.choice(['토.토', '카 지 노', 'ㅋr지노', '토0토'])} "
                         f"{r.choice(['가입', '첫충'])} "
                         f"{r.choice(['b i t . l y', 'ㅋㅏ톡', '텔 레'])} {_token(r, 5)}",
}


def generate_one(rng: random.Random, families: list[str] | None = None) -> dict:
    """One spam message {text, family}, from the given families (default: all)."""
    family = rng.choice(families or sorted(FAMILIES))
    return {"text": " ".join(FAMILIES[family](rng).split()), "family": family}
