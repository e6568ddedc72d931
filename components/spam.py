"""Synthetic Korean live-chat spam, composed by intent from open slot vocabularies.

There is no public Korean live-chat spam set, so the project generates its own. A model
trained on a few fixed phrasings learns the phrasings, not the spam, so every message here
is composed: an INTENT (what the spammer wants: `dm_invite`, `stock_coin`, `cheap_offer`,
`app_move`, `fake_giveaway`, `adult`, `gambling`, `promo_channel`) supplies slot words
(hooks, things, offers, deals, the people it targets, bare claims, first-person stories);
a STRUCTURE (a bare pitch, a deal, a pitch with a way to reach the sender, a `~하실 분`
question, a long notice, a first-person story, a bare claim) puts them together.

Spam that people write is often PLAIN: one or two clean sentences that state the intent,
no emoji, no link, no id, sometimes no call to action at all (`내일 상한가 갈 종목 알려드립니다`,
`심심한데 같이 얘기하실 분`, `디 엠 주시면 방 알려드림`). So every structure renders about half of
its messages PLAIN (one of its sentence shapes in PLAIN, in a polite, casual or questioning
register; DM spelled many ways, 쪽지/귓/갠톡) and the other half RICH (the older ad forms:
contacts such as invented ids, messenger names with spaced/dotted evasions, invented URLs,
shorteners, links spelled out, phones and codes, in about two of three rich messages; at
most one decoration - a tag, an emoji, `!!`, `ㅎㅎ` - in about a third; sometimes an evasion
spelling of the keyword, `카.지.노`, `ㅋr지노`, `zkwlsh`; rarely the message pasted twice).

A row's kind is its intent; its family is `intent/structure` (`gambling/2`), so a split can
hold whole structures of every intent out of training (components.ingest.stratified_split;
`data.spam_holdout: kind` holds whole intents out instead, a harder stress test). To add
words, extend a tuple; to add an intent, add an INTENTS and a STORIES entry; to add a
structure, add a PLAIN entry and a function to STRUCTURES (it becomes family N of every
intent).
"""
from __future__ import annotations

import random
import string
from typing import Callable

from components.labels import normalize_text
from components.lexicon import (CHO, JONG, JUNG, MESSENGERS, SHORTENERS, decompose, keys_of,
                                syllable)


def _t(words: str) -> tuple[str, ...]:
    """A compact vocabulary: `"a|b c|d"` -> ("a", "b c", "d")."""
    return tuple(words.split("|"))


# ---------------------------------------------------------------- intent vocabularies
# hook: opener/adjective; thing: what is offered; offer: a 하다-stem verb noun (an ending
# from ENDINGS follows); unit: quantity units; price: rich price phrases around a random {p};
# deal: plain quantity/price/return phrases; who: the people a `~분` message calls on;
# claim: bare one-sentence statements of the intent; call: contact-free calls to action;
# contact: CONTACTS kinds (repeat = weight); cta: calls to action of the rich messages.
# Slots inside deal/claim/call/STORIES: {thing} {thing_ro} (with 로/으로) {hook} {qty}
# {price} {won} {pct} {x} {money} {people} {seat} {age} {hour}, and any other tuple of the
# intent (`metric`, `goods`, `genre`) as a slot of its own name.
INTENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "dm_invite": dict(
        hook=_t("VIP|무료|비공개|선착순|프리미엄|소수정예|회원 전용|1:1|오늘만|시크릿|특급|마지막|"
                "검증된|실시간|고급|알짜|소수"),
        thing=_t("리딩방|오픈채팅|오픈톡|단톡방|정보방|비밀방|VIP방|톡방|수익방|시그널방|채팅방|그룹방|"
                 "스터디방|투자방|부업방|재테크방|정보 공유방|코인방|주식방|무료방"),
        offer=_t("모집|입장|초대|오픈|개설|안내|참여|무료 입장|공유|운영"),
        unit=_t("명|자리"), price=_t("입장료 {p}|월 {p}|가입비 {p}|평생 {p}|{p}"),
        deal=_t("{seat} 남음|입장료 {won}|월 {won}|가입비 없음|평생 {won}|선착순 {people}|오늘까지 무료|"
                "회비 {won}|{people}만 받음|정원 {people}"),
        who=_t("정보 필요하신 분|같이 공부하실 분|돈 버는 방법 궁금하신 분|부업 찾으시는 분|좋은 정보 받고 "
               "싶으신 분|같이 수익 내실 분|재테크 관심 있으신 분|용돈 벌고 싶으신 분|진지하게 하실 분|"
               "관심 있는 사람|초대 원하시는 분|월급 말고 수입 원하시는 분"),
        claim=_t("좋은 정보 있는데 여기선 말하기 곤란해요|{thing}에서 매일 정보 공유하고 있어요|{hook} "
                 "{thing} {seat} 남았습니다|방송에선 못 하는 얘기 따로 해드려요|따로 알려드릴 게 있어요|"
                 "돈 되는 정보 나누는 {thing} 있어요|{thing} 들어오시면 자료 다 드립니다|제가 운영하는 "
                 "{thing} 있는데 몇 명만 더 받아요|{thing} 무료로 초대해 드려요|{thing} 소개로만 들어올 수 "
                 "있어요|저랑 따로 얘기하실 분 찾아요|개인적으로 알려드리고 싶은 게 있어요|좋은 거 있어서 몇 "
                 "분한테만 알려드려요|{thing} 인원 조금만 더 받습니다|부업으로 한 달 {money} 버는 방법 "
                 "알려드려요|초대받은 분만 들어오는 {thing}입니다"),
        call=_t("초대해 드릴게요|자리 얼마 안 남았어요|들어오실 분 말씀해 주세요|관심 있으면 말씀하세요|"
                "입장 방법은 따로 알려드려요|먼저 말 거시는 분께 드려요"),
        contact=_t("msg|msg|id|short|url"),
        cta=_t("비번은 DM|입장 링크는 프로필|선착순 마감|자리 문의")),
    "stock_coin": dict(
        hook=_t("급등|상장 예정|원금 보장|고수익|확정 수익|세력|단타|내일 오를|무료 추천|100% 적중|"
                "상한가|세력 매집|저평가|수익 보장|실시간|검증된|폭등 예정|작전"),
        thing=_t("코인|비트코인|리플|도지|이더리움|알트코인|주식|급등주|테마주|선물|해외선물|밈코인|"
                 "신규코인|종목|세력주|작전주|동전주|잡코인|공모주|나스닥 종목|미국 주식|상장 코인|"
                 "바이오주|2차전지주|우량주|ETF"),
        offer=_t("추천|정보 공유|리딩|분석|상담|수익 인증|매수 안내|투자|종목 추천|시그널 공유|타점 공유|"
                 "무료 리딩|매매 지도"),
        unit=_t("%|배|만원|억"), price=_t("가입비 {p}|월 {p}|수수료 {p}|최소 {p}부터|회비 {p}"),
        deal=_t("수익률 {pct} 보장|월 {pct} 수익|원금 보장|최소 {x}|목표 수익 {x}|가입비 {won}|월 {won}|"
                "수수료 {won}|{money} 수익 가능|하루 {pct}|원금 {money}에 수익 {x}|적중률 {pct}"),
        who=_t("수익 내고 싶으신 분|손실 복구하실 분|물린 종목 있으신 분|코인 처음 하시는 분|주식 하시는 분|"
               "원금 회복 원하시는 분|단타 하시는 분|급등주 받고 싶으신 분|매수 타점 궁금하신 분|큰 수익 "
               "원하시는 분|세력 따라가실 분|에어드랍 받고 싶으신 분"),
        claim=_t("내일 상한가 갈 종목 미리 알려드립니다|세력 매집 끝난 {thing} 하나 있습니다|이번 주 상장하는 "
                 "코인 최소 {x} 봅니다|원금 보장에 월 수익률 {pct} 약속드립니다|매일 아침 급등주 시그널 "
                 "무료로 드려요|에어드랍 받는 방법 알려드립니다|세력이 매집 중인 {thing} 정보 있어요|다음 주 "
                 "{x} 갈 {thing} 찍어드립니다|리딩 따라오시면 손실 없습니다|수익 안 나면 수수료 안 "
                 "받습니다|상장 전에 미리 받는 코인 있습니다|지금 {thing} 들어가면 {x} 먹습니다|제 시그널 "
                 "적중률 거의 100%입니다|물린 분들 원금 복구 도와드립니다|{thing} 매수 타점 알려드려요|하루 "
                 "{money} 수익 가능합니다|세력 정보 공유해 드립니다|{thing} 급등 정보 먼저 드려요|상한가 "
                 "종목 매일 하나씩 드립니다|원금 보장되는 리딩입니다|수익률 {pct} 인증된 리딩입니다|개미들은 "
                 "모르는 정보 있어요|{thing} 내일 오르는 거 확실합니다"),
        call=_t("종목 받아 가세요|무료로 알려드려요|늦기 전에 들어오세요|수익 인증 보여드릴게요|무료 상담 "
                "해드려요|관심 있으면 말씀하세요"),
        contact=_t("msg|msg|short|url|phone"),
        cta=_t("무료 상담|지금 입장|수익 확인|종목 받기")),
    "cheap_offer": dict(
        hook=_t("최저가|초특가|할인|반값|당일|즉시|안전|정품|한정|업계 최저가|저렴하게|빠르게|실계정|국내|"
                "한국인|자동|하루 만에|24시간|싸게|후불|티 안 나게|정지 없는"),
        thing=_t("팔로워|구독자|좋아요|시청자|조회수|댓글|하트|별풍선|닉네임|계정|리뷰|게임 골드|게임 계정|"
                 "기프티콘|문상|트래픽|추천수|시청시간|유튜브 구독자|인스타 팔로워|틱톡 팔로워|시청자 수|"
                 "방송 세팅|게임 아이템|다이아|부계정|랭크 대리|레벨업 대행|썸네일|채팅 봇"),
        metric=_t("팔로워|구독자|좋아요|시청자 수|조회수|하트|추천수|시청시간|댓글|유튜브 구독자|"
                  "인스타 팔로워|틱톡 팔로워"),
        goods=_t("게임 계정|게임 아이템|다이아|기프티콘|문상|별풍선|부계정|게임 골드|닉네임|계정"),
        offer=_t("판매|대행|작업|충전|세팅|관리|제작|양도|거래|구매 대행"),
        unit=_t("명|개|회|건"), price=_t("{p}|{p}|개당 {p}|명당 {p}|단돈 {p}|특가 {p}|{p}부터"),
        deal=_t("{qty} {won}|{qty}에 {won}|개당 {won}|{won}부터|단돈 {won}|{qty} 기준 {won}|{qty}까지 "
                "{won}|{won}에 {qty}"),
        who=_t("방송 키우고 싶으신 분|팔로워 늘리고 싶으신 분|구독자 필요하신 분|시청자 수 늘리실 분|계정 "
               "필요하신 분|싸게 사실 분|채널 빨리 키우실 분|인기탭 가고 싶은 분|게임 아이템 필요한 분"),
        claim=_t("{metric} 늘려드립니다|{metric} 빠르게 올려드려요|{goods} 싸게 팝니다|{metric} {qty} 하루 "
                 "만에 넣어드림|방송 시청자 수 원하는 만큼 올려드려요|{metric} 작업해 드립니다 티 안 나요|"
                 "{thing} 업계 최저가로 해드려요|계정 정지 걱정 없이 {metric} 늘려드려요|{goods} 필요하면 "
                 "말씀만 하세요|방송 키우는 거 도와드립니다|{thing} {won}이면 됩니다|{goods} 시세보다 싸게 "
                 "드려요|{metric} 안 늘면 환불해 드립니다|인기탭 올려드립니다|{metric} 한국인으로만 채워 "
                 "드려요"),
        call=_t("문의 주시면 견적 드려요|가격 물어보세요|싸게 해드릴게요|필요하신 만큼 말씀하세요|견적은 따로 "
                "드려요"),
        contact=_t("msg|id|url|short|spelled|phone"),
        cta=_t("구매 문의|견적 DM|가격 문의|작업 문의")),
    "app_move": dict(
        hook=_t("자세한 건|나머지는|비밀 정보는|자료는|1:1 상담은|진짜 정보는|여기선 말 못함|채팅 막혀서|"
                "문의는|사진은|후기는|상담은|정보는"),
        thing=_t("텔레|텔레그램|텔그|카톡|카카오톡|오픈카톡|디코|디스코드|라인|밴드|위챗|시그널|인스타 DM|"
                 "왓츠앱|스냅챗|오픈채팅|페메|카카오 오픈채팅"),
        offer=_t("이동|연락|상담|대화|친추|추가|안내|문의"),
        unit=_t("명|분"), price=_t("상담료 0원|무료|{p} 지급|가입 {p} 지원"),
        deal=_t("상담료 0원|무료 상담|{people} 모여 있음|{people} 대기 중|가입 {won} 지원|24시간 상담"),
        who=_t("자세히 알고 싶으신 분|더 얘기하실 분|정보 원하시는 분|상담 원하시는 분|사진 보고 싶은 분|"
               "후기 궁금하신 분|따로 대화하실 분"),
        claim=_t("여기선 얘기 못 하니까 {thing_ro} 오세요|자세한 건 {thing_ro} 알려드릴게요|{thing_ro} "
                 "옮겨서 얘기해요|채팅창에선 말 못 해서 {thing_ro} 가요|{thing}에서 따로 얘기해요|{thing} "
                 "하시는 분들 거기로 오세요|{thing} 친추하면 알려드림|{thing}에 자료 다 올려놨어요|방송 "
                 "채팅은 막히니까 {thing_ro} 연락 주세요|나머지는 {thing}에서 말씀드릴게요|{thing}에서 "
                 "기다릴게요|여기 말고 {thing}에서 편하게 얘기해요|{thing} 있으신 분 그쪽으로 가요"),
        call=_t("{thing_ro} 오세요|{thing}에서 봐요|{thing} 친추 주세요|{thing}에서 기다릴게요|{thing} "
                "검색해서 오세요"),
        contact=_t("id|id|msg|phone"),
        cta=_t("친추 ㄱ|추가 부탁|아이디 검색|친구추가 해주세요")),
    "fake_giveaway": dict(
        hook=_t("축하합니다|당첨|이벤트|무료|공짜|선착순|전원|100% 당첨|한정|오늘만|깜짝|감사|시청자 감사|"
                "구독자 감사|오픈 기념|주말|특별|연말|1주년"),
        thing=_t("기프티콘|문화상품권|문상|치킨 쿠폰|에어팟|아이폰|별풍선|치즈|후원 쿠폰|게임 쿠폰|현금|"
                 "포인트|스벅 쿠폰|편의점 상품권|백화점 상품권|배민 쿠폰|구글 기프트카드|아이패드|갤럭시|"
                 "닌텐도|컬쳐랜드|해피머니|게임 아이템|스킨|다이아"),
        offer=_t("지급|증정|나눔|추첨|당첨|수령|배포|선물|무료 지급|이벤트"),
        unit=_t("명|개|만원|원"), price=_t("{p} 상당|{p}권|{p} 지급|{p} 쿠폰|총 {p}"),
        deal=_t("{qty} 한정|선착순 {people}|{won} 상당|{won}권|총 {money}|{people} 추첨|전원 {won}|"
                "{won} 쿠폰|1인 {won}"),
        who=_t("기프티콘 받고 싶으신 분|이벤트 참여하실 분|선물 받으실 분|아직 못 받으신 분|응모하실 분|"
               "당첨 확인 안 하신 분|댓글 이벤트 참여하실 분|공짜 좋아하시는 분"),
        claim=_t("시청자분들께 {thing} 드리는 이벤트 중입니다|지금 참여하시면 {thing} 드려요|축하드립니다 "
                 "{thing} 당첨되셨어요|채팅 치신 분들 전원 {thing} 드림|{thing} 당첨자 발표했어요|{thing} "
                 "아직 안 받아 가신 분 계세요|오늘 채팅 참여자 중 {people} 뽑아서 {thing} 드립니다|{thing} "
                 "무료로 나눠드려요|선착순 {people}에게 {thing} 보내드립니다|{thing} 수령 기한이 오늘까지"
                 "입니다|방금 {thing} 당첨 문자 받으신 분 확인하세요|이벤트 당첨되셨는데 아직 {thing} 안 "
                 "받으셨어요|{thing} {won}어치 나눔합니다"),
        call=_t("놓치지 마세요|빨리 받아 가세요|오늘까지예요|확인해 보세요|참여만 하시면 돼요"),
        contact=_t("short|url|spelled|msg"),
        cta=_t("수령하세요|지금 받기|응모 ㄱㄱ|당첨 확인")),
    "adult": dict(
        hook=_t("외로운 분|심심한 분|19|성인|비밀|오늘밤|근처|몰래|무료|은밀한|20대|혼자인 분|새벽|퇴근 후|"
                "주말"),
        thing=_t("만남|랜덤채팅|영통|톡친구|밤친구|커플 매칭|19 방송|비밀 채팅|사진 교환|애인대행|즉석만남|"
                 "동네 친구|대화 상대|말동무|소개팅|화상채팅|채팅 친구|성인 방송"),
        offer=_t("매칭|연결|대화|만남|공유|모집|채팅|소개"),
        unit=_t("명|살|분"), price=_t("무료|가입비 0원|1회 {p}|{p}"),
        deal=_t("가입비 0원|1회 {won}|{age} 대기 중|{people} 대기 중|첫 이용 무료|{age} 여성|{age} 직장인|"
                "30분 {won}"),
        who=_t("심심한 분|외로운 분|대화 상대 필요하신 분|밤에 잠 안 오는 분|근처 사시는 분|영통 하실 분|"
               "친구 하실 분|얘기 들어줄 사람|오늘 시간 되는 분|연락하고 지낼 사람"),
        claim=_t("심심한데 같이 얘기하실 분|오늘 밤 시간 되시는 분 찾아요|근처 사시는 분이랑 만나고 싶어요|"
                 "외로우신 분들 {thing} 해드려요|{age} 여자인데 {thing} 하실 분 찾아요|프로필 보시고 "
                 "마음에 들면 말 걸어주세요|{thing} 상대 구해요|혼자 있기 싫어서 {thing} 할 사람 찾아요|"
                 "{thing} 무료로 연결해 드려요|몰래 {thing} 하실 분만|{people} 지금 {thing} 대기 중이에요|"
                 "부담 없이 {thing} 해요|저랑 {thing} 하실래요"),
        call=_t("연락 기다릴게요|말 걸어주세요|먼저 연락 주세요|부담 없이 연락 주세요|기다리고 있을게요"),
        contact=_t("short|url|msg|id|spelled"),
        cta=_t("연락 기다릴게요|톡 주세요|프사 확인|기다리는 중")),
    "gambling": dict(
        hook=_t("첫충|매충|신규 가입|꽁머니|무제한 환전|먹튀 없는|메이저|안전|1등|가입머니|페이백|"
                "먹튀 검증|당일 환전|고액 전용|신규 전용|실시간|무사고"),
        thing=_t("토토|카지노|바카라|슬롯|홀덤|파워볼|스포츠 배팅|라이브 카지노|사설 토토|미니게임|놀이터|"
                 "배팅 사이트|해외 배팅|안전놀이터|사다리|그래프 게임|스포츠토토|바카라 사이트|"
                 "온라인 카지노|홀짝|룰렛"),
        offer=_t("가입|추천|환전|충전|배팅|입금|보장|소개|안내"),
        unit=_t("%|만원|배"), price=_t("꽁머니 {p}|가입머니 {p}|최소 {p}|{p} 지급|첫충 {p}"),
        deal=_t("첫충 {pct}|매충 {pct}|꽁머니 {won}|가입머니 {won}|최소 {won}부터|환전 무제한|페이백 "
                "{pct}|{x} 배당|가입 즉시 {won}"),
        who=_t("먹튀 당해보신 분|안전한 곳 찾으시는 분|토토 하시는 분|배팅 좋아하시는 분|카지노 좋아하시는 "
               "분|꽁머니 받으실 분|환전 잘 되는 곳 찾는 분|스포츠 보시는 분|바카라 하시는 분"),
        claim=_t("먹튀 없는 {thing} 알려드립니다|환전 빠른 {thing} 찾으시면 말씀하세요|첫충 {pct} 주는 곳 "
                 "있어요|신규 가입하면 꽁머니 {won} 드려요|{thing} 하시는 분들 좋은 곳 있어요|제가 쓰는 곳 "
                 "먹튀 한 번도 없었어요|오늘 경기 배당 좋은 곳 알려드림|무제한 환전 되는 {thing} 있습니다|"
                 "고액 환전도 바로 되는 곳입니다|{thing} 가입하면 {won} 바로 줍니다|스포츠 좋아하시면 "
                 "{thing} 해보세요|{thing} 이기는 방법 알려드려요|오늘 경기 픽 무료로 드립니다|{thing} "
                 "소액으로 크게 버는 법 있어요"),
        call=_t("가입만 하시면 돼요|한번 해보세요|알려드릴게요|지금 가입하세요|주소는 따로 드려요"),
        contact=_t("url|spelled|code|short|msg"),
        cta=_t("가입 ㄱㄱ|코드 입력|지금 가입|주소 확인")),
    "promo_channel": dict(
        hook=_t("신입|초보|버튜버|소통|매일|24시간|구독자 0명|새로 시작한|작은|신규|게임|먹방|노래|그림|"
                "저챗|일상|신생"),
        thing=_t("채널|방송|유튜브|숲 방송|치지직 방송|트위치|틱톡|인스타|쇼츠|라이브|유튜브 채널|"
                 "치지직 채널|틱톡 계정|인스타 계정|블로그|방송국"),
        genre=_t("게임|먹방|노래|그림|ASMR|저챗|일상|롤|배그|마크|공포게임|운동|요리|버튜버"),
        offer=_t("홍보|맞구독|맞팔|구독|팔로우|맞시청|소통|라이브|소개"),
        unit=_t("명"), price=_t("무료|구독 이벤트 {p}|시청자 선물 {p}"),
        deal=_t("구독자 {people} 목표|구독자 {people} 달성 이벤트|맞구독 {people} 완료|매일 {hour}시 방송|"
                "구독 이벤트 {won}|시청자 선물 {won}"),
        who=_t("맞구독 하실 분|맞팔 하실 분|방송 보러 오실 분|같이 소통하실 분|구독 눌러주실 분|게임 방송 "
               "좋아하시는 분|신입 스트리머 응원해 주실 분"),
        claim=_t("저도 방송하는데 놀러 와 주세요|신입 스트리머입니다 구독 부탁드려요|{thing} 시작했는데 한번 "
                 "봐주세요|맞구독 하실 분 구해요|구독해 주시면 바로 맞구독 갑니다|{genre} {thing} 새로 "
                 "열었어요|매일 밤 {genre} 방송 하고 있으니 들러주세요|{thing} 구독자 {people} 되면 이벤트 "
                 "해요|저 {genre} 스트리머인데 구경 오세요|제 {thing} 한 번만 봐주세요|소통 위주 {genre} "
                 "방송입니다 편하게 오세요|오늘 첫 방송 켰어요 놀러 오세요|{genre} 좋아하시면 제 {thing} "
                 "와주세요|맞팔 해주시면 저도 바로 해드려요"),
        call=_t("구독 부탁드려요|놀러 오세요|한번 들러주세요|편하게 오세요|알림 설정 부탁드려요"),
        contact=_t("handle|handle|url|short"),
        cta=_t("구독 부탁드려요|놀러오세요|알림설정 부탁|검색해주세요|맞구독 ㄱ")),
}
# First-person lures, one tuple per intent (same slots as a claim).
STORIES: dict[str, tuple[str, ...]] = {
    "dm_invite": _t("{thing} 들어가고 한 달 만에 {money} 벌었어요|{thing}에서 매일 무료 정보 받는 중|어제 "
                    "{thing}에서 찍어준 거 {x} 감|{thing} {seat} 남았어요|{thing} 덕분에 {pct} 수익|{thing}"
                    "에서 알려준 대로 했더니 {money} 들어왔어요|저도 처음엔 의심했는데 {thing} 진짜더라고요|"
                    "{thing} 들어가고 나서 월급보다 더 벌어요"),
    "stock_coin": _t("{thing} {pct} 수익 인증합니다|{thing_ro} 한 달에 {money} 벌었어요|내일 {thing} "
                     "급등 확정 정보 있음|{thing} {x} 간 거 보셨나요|{thing} 투자로 월 {money} 가능|리딩 받고 "
                     "{thing} {pct} 먹었어요|원금 {money}으로 시작해서 {x} 만들었어요|이번 달 수익률 {pct} "
                     "찍었습니다|상한가 종목 두 번 연속 맞췄어요|에어드랍으로만 {money} 벌었음|시그널 "
                     "따라갔더니 {thing} {x} 먹었어요|손실 {money} 다 복구했어요"),
    "cheap_offer": _t("{thing} 여기서 샀는데 진짜 {price}임|방송 키우려면 {metric} 필수임|{metric} {qty} "
                      "넣고 바로 인기탭 감|다들 {metric} 사서 하는 거 모르셨죠|{thing} {qty} {price}에 "
                      "해드림|{metric} 샀는데 바로 들어왔어요|{metric} 넣고 나서 시청자 두 배 됐어요|{goods} "
                      "싸게 사서 잘 쓰고 있어요"),
    "app_move": _t("여기선 말 못해요 {thing_ro} 오세요|자세한 얘기는 {thing}에서 해요|{thing}에 자료 다 "
                   "올려둠|채팅 막혀서 {thing_ro} 옮겼어요|{thing} 방에 {people} 모여있음|{thing_ro} "
                   "옮기고 나서 정보 훨씬 많이 받아요"),
    "fake_giveaway": _t("{thing} 진짜 받았어요|방금 {thing} {qty} 당첨됨|시청자 전원 {thing} 지급 이벤트 "
                        "중|축하합니다 {thing} 당첨되셨습니다|{thing} 수령 기한 오늘까지입니다|{thing} 이벤트 "
                        "참여했는데 진짜 왔어요|반신반의했는데 {thing} 받음|{thing} 받았어요 다들 해보세요"),
    "adult": _t("심심해서 들어왔는데 {thing} 하실 분|오늘 밤 {thing} 할 사람|외로운 분들 {thing} 무료로 "
                "해요|근처 {thing} 찾는 중인데|{people} 대기중 {thing} 바로 가능|{age}인데 {thing} 할 "
                "사람 없나|퇴근하고 심심해서 {thing} 찾는 중|어제 {thing} 했는데 재밌었어요"),
    "gambling": _t("{thing_ro} 오늘 {money} 땄어요|{thing} 첫충 {pct} 받고 시작함|먹튀 없는 {thing} "
                   "드디어 찾음|어제 {thing} {x} 터졌어요|{thing} 환전 {money} 바로 됨|{thing} 하루 만에 "
                   "{money} 벌었음|{thing}에서 {x} 배당 맞췄어요|소액으로 시작해서 {money} 환전했어요"),
    "promo_channel": _t("신입 스트리머인데 {thing} 놀러와 주세요|{thing} 구독해주시면 맞구독 갑니다|저도 "
                        "{thing} 하는데 서로 맞구독해요|오늘 {thing} 첫 방송해요|{thing} 구독자 {people} 달성 "
                        "도와주세요|{genre} 방송 시작한 지 한 달 됐어요|어제 {thing} 처음 켰는데 시청자 "
                        "{people} 왔어요"),
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
# Private-message words (`{dm} 주세요`), spelled as people do; _dm also spaces and stretches.
DM_WORDS = _t("DM|DM|dm|Dm|디엠|디엠|뒤엠|듸엠|ㄷㅁ|쪽지|쪽지|쪽|귓|귓말|귓속말|갠톡|갠톡|개톡|개인톡|"
              "갠메|개인 메시지|개인 메세지|개인 채팅|1:1 메시지|1:1 채팅|따로 메시지|메시지|메세지|톡|"
              "개인 쪽지|비밀 메시지|다이렉트 메시지")
DM_VERBS = _t("주세요|주세요|줘요|주셈|ㄱ|ㄱㄱ|보내주세요|남겨주세요|부탁드려요|주시면 알려드려요|주시면 바로 "
              "안내해 드려요|주면 알려줌|환영|기다릴게요|하세요|주시면 자세히 알려드림")
# Ways to be reached without an id (with {dm}/{dm_ro}: the private-message word and 로/으로).
REACH = _t("연락 주세요|연락 부탁드려요|문의 주세요|문의 환영|따로 연락 주세요|개인적으로 연락 주세요|"
           "편하게 연락 주세요|따로 말 걸어주세요|조용히 연락 주세요|말씀 주세요|개인적으로 물어보세요|"
           "{dm}{dm_ro} 연락 주세요|{dm}{dm_ro} 문의 주세요|{dm}{dm_ro} 알려드릴게요|{dm}{dm_ro} 보내드려요|"
           "{dm}{dm_ro} 오세요|궁금하면 {dm}")
LEAD = _t("와|진짜|ㄹㅇ|솔직히|여러분|님들|다들|저|아 진짜|와 대박|제가|아니")
LEAD2 = _t("여러분|다들|님들|저기요|잠깐만요|채팅창 여러분|시청자분들|안녕하세요|아")
GREET = _t("안녕하세요|반갑습니다|실례합니다|방송 잘 보고 있어요|채팅 죄송합니다|잠깐 홍보 좀 할게요|"
           "광고 죄송합니다|좋은 소식 있어요|잠깐만 봐주세요|공지 드립니다")
BENEFIT = _t("부담 없이 보세요|손해 볼 거 없어요|후회 안 하실 거예요|믿고 맡겨주세요|확실합니다|검증 "
             "끝났습니다|오늘만 이 조건입니다|자리 얼마 없어요|먼저 오시는 분께 드려요|한번 해보시면 압니다|"
             "속는 셈 치고 해보세요|이런 기회 다시 없어요")
FOLLOW = _t("방법 궁금하면 물어보세요|다들 해보세요|저만 알기 아까워서 공유해요|알려드릴 수 있어요|궁금하신 분 "
            "물어보세요|진짜 추천합니다|아직 안 늦었어요|저도 처음엔 안 믿었어요|어떻게 했는지 알려드림")
TAGS = _t("[광고]|[홍보]|(광고)|📢|【공지】|★이벤트★|[안내]|※필독※|<특가>|[EVENT]")
NOISE = _t("🔥|💰|✅|👉|📢|🎁|💎|⭐|❤️|💋|🎰|📈|🚀|!!|~~|♥|★|☆|▶|※|^^|!!!|ㄷㄷ|ㅎㅎ|💯|⚡")
PLATFORMS = _t("유튜브|숲|치지직|트위치|인스타|틱톡")
SYLLABLES = _t("vip|win|lucky|gold|king|star|moon|sky|bit|coin|love|hot|mega|top|best|ace|cash|"
               "money|pro|real|boss|hana|min|jun|seo|ji|woo|kim|lee|park|chat|talk|happy|joy|max|"
               "good|zzang|ggul|bet|spin|fan|tube|live|dream")
TLDS = _t("com|net|kr|co.kr|xyz|shop|site|io|me|top|vip|bet|club|link|info|store|cc|app")
# Hand-written probes of the independent check: never emitted verbatim, so they stay unseen.
PROBES = frozenset(normalize_text(t) for t in (
    "VIP 리딩방 입장 DM 주세요", "팔로워 1000명 5천원 DM 주세요", "닉네임 대행 작업 프로필 링크 확인"))
# Share of the messages of every structure written plain (no decoration, no contact).
PLAIN_SHARE = 0.5


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
# Look-alike letters for vowels (`ㅋr지노`); the jamo and keyboard tables are in
# components.lexicon.
_LOOKALIKE = {"ㅏ": "r", "ㅣ": "l", "ㅗ": "⊥", "ㅡ": "_", "ㅜ": "T", "ㅓ": "+", "ㅇ": "o"}


def qwerty(text: str) -> str:
    """Hangul as typed with the keyboard left in English mode: `카지노` -> `zkwlsh`."""
    out = []
    for ch in text:
        parts = decompose(ch)
        out.append(ch if parts is None else
                   keys_of(CHO[parts[0]]) + keys_of(JUNG[parts[1]]) + keys_of(JONG[parts[2]]))
    return "".join(out)


def jamo_mix(text: str, rng: random.Random, share: float = 0.5) -> str:
    """Some syllables broken into loose jamo, vowels sometimes as look-alikes: `ㅋr지노`."""
    out = []
    for ch in text:
        parts = decompose(ch)
        if parts is None or rng.random() > share:
            out.append(ch)
            continue
        jung = JUNG[parts[1]]
        if rng.random() < 0.5:
            jung = _LOOKALIKE.get(jung, jung)
        out.append(CHO[parts[0]] + jung + JONG[parts[2]])
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
    parts = decompose(word[-1]) if word else None
    return "으로" if parts and parts[2] not in (0, 8) else "로"


def _evade(word: str, rng: random.Random, share: float) -> str:
    """`word` as is, or (with probability `share`) in one evasion spelling."""
    if rng.random() >= share or len(word) < 2:
        return word
    trick = rng.choice([spaced_out, dotted, dotted, jamo_mix, lambda w, _: qwerty(w)])
    return trick(word, rng)


# ------------------------------------------------------------------- plain helpers
def _dm(rng: random.Random) -> str:
    """A private-message word as people type it: DM, D M, d.m, DMMM, 디 엠, 디이엠, 쪽지, 갠톡."""
    word = rng.choice(DM_WORDS)
    if word.upper() == "DM" and rng.random() < 0.4:
        d, m = rng.choice([("D", "M"), ("d", "m"), ("D", "m")])
        sep = rng.choice([" ", ".", ". ", "-", "  "])
        word = rng.choice([f"{d}{sep}{m}", f"{d}{m * rng.randint(2, 4)}", f"{d * 2}{m * 2}"])
    elif word == "디엠" and rng.random() < 0.4:
        word = rng.choice(["디 엠", "디이엠", "디이이엠", "디엠엠", "듸 엠"])
    return word


def _dm_ro(word: str) -> str:
    """로/으로 after a private-message word (`DM으로`, `쪽지로`, `갠톡으로`)."""
    return "으로" if word[-1] in "Mmㅁ" else _ro(word)


def _reach(rng: random.Random) -> str:
    """A way to be reached with no id or link: `디 엠 주세요`, `쪽지로 문의 주세요`, `연락 주세요`."""
    dm = _dm(rng)
    if rng.random() < 0.6:
        return f"{dm} {rng.choice(DM_VERBS)}"
    return rng.choice(REACH).format(dm=dm, dm_ro=_dm_ro(dm))


def _with_jong(ch: str, jong: int) -> str:
    cho, jung, _ = decompose(ch)
    return syllable(cho, jung, jong)


_M, _B = JONG.index("ㅁ"), JONG.index("ㅂ")


def _casual_word(word: str) -> str:
    """A polite sentence ending made casual: 합니다->함, 있습니다/있어요->있음, 주세요->주셈, 해요->함."""
    body, mark = (word[:-1], word[-1]) if word[-1:] in ".?!" else (word, "")
    if body.endswith("습니다") and len(body) > 3:
        body = body[:-3] + "음"
    elif body.endswith("니다") and len(body) > 2 and (decompose(body[-3]) or (0, 0, 0))[2] == _B:
        body = body[:-3] + _with_jong(body[-3], _M)                    # 합니다 -> 함, 드립니다 -> 드림
    elif body.endswith(("예요", "이에요")):
        body = body[:-3 if body.endswith("이에요") else -2] + "임"
    elif body.endswith("세요") and len(body) > 2:
        body = body[:-2] + "셈"
    elif body.endswith(("해요", "돼요", "려요")):
        body = body[:-2] + {"해": "함", "돼": "됨", "려": "림"}[body[-2]]
    elif body.endswith("어요") and len(body) > 2 and (decompose(body[-3]) or (0, 0, 0))[2]:
        body = body[:-2] + "음"                                         # 있어요 -> 있음, 벌었어요 -> 벌었음
    elif body.endswith(("게요", "거든요", "데요", "네요")):
        body = body[:-1]
    return body + mark


def _casual(text: str) -> str:
    """Every sentence-final polite ending of `text` in the casual register."""
    words = text.split(" ")
    return " ".join(_casual_word(w) if i == len(words) - 1 or w.endswith(".") or
                    w.endswith(("니다", "어요", "세요", "해요", "려요", "예요")) else w
                    for i, w in enumerate(words))


# ------------------------------------------------------------------------ structures
# Family N of every intent is structure N. A structure renders a PLAIN message from one of
# its sentence shapes in PLAIN[N] (sentences joined by `. `), or a RICH one from the words
# STRUCTURES[N] returns, in order.
PLAIN: tuple[tuple[str, ...], ...] = (
    # 0 bare pitch
    _t("{hook} {thing} {offer}|{thing} {offer}|{thing} {offer}. {benefit}|"
       "{hook} {thing} {offer} {call}|{lead2} {thing} {offer}|{thing} {offer}. {who} {reach}|"
       "{hook} {thing} {offer}. {call}"),
    # 1 deal: a quantity, a price or a return
    _t("{thing} {deal}|{hook} {thing} {deal}|{thing} {offer}. {deal}|{deal}. {thing} {offer}|"
       "{thing} {deal} {call}|{deal} {thing} {offer}|{who} {thing} {deal}"),
    # 2 a pitch and a way to reach the sender (no id)
    _t("{thing} {offer} {reach}|{who} {reach}|{claim} {reach}|{hook} {thing} 궁금하시면 {reach}|"
       "{thing} 관심 있으면 {reach}|자세한 건 {reach}|{reach} {thing} {offer}|{thing} 필요하시면 {reach}"),
    # 3 a question to the chat
    _t("{thing} {ask}|{hook} {thing} {ask}|{who} 계신가요|{who} 있나요|혹시 {who} 계세요|{who} {call}|"
       "{who}|{who} 있으면 {reach}"),
    # 4 a notice of two or three sentences
    _t("{greet} {thing} {offer}. {claim}|{greet} {claim}. {benefit}|{claim}. {deal}. {call}|"
       "{hook} {thing} {offer}. {benefit}. {reach}|{greet} {story}. {who} {reach}|"
       "{thing} {offer}. {claim}. {benefit}|{greet} {who} 보세요. {claim}"),
    # 5 a first-person story
    _t("{story}|{lead} {story}|{story}. {follow}|{lead} {story} {follow}|{story} {who} {reach}|"
       "{story}. {call}"),
    # 6 a bare claim: a promise, an offer, an invitation
    _t("{claim}|{claim}. {benefit}|{claim} {call}|{lead2} {claim}|{claim}. {who} {reach}|"
       "{who}만 보세요. {claim}|{claim}. {deal}"),
)


def _tail(p: dict, rng: random.Random) -> list[str]:
    """The end of a rich message: a call to action, a contact, or both."""
    return rng.choice([[p["cta"]], [p["contact"]], [p["cta"], p["contact"]]])


def _bare(p: dict, rng: random.Random) -> list[str]:
    """3-6 words: `[hook] thing offer cta [contact]`."""
    return (([p["hook"]] if rng.random() < 0.6 else []) + [p["thing"], p["offer"], p["cta"]]
            + ([p["contact"]] if rng.random() < 0.4 else []))


def _deal(p: dict, rng: random.Random) -> list[str]:
    """A quantity and/or a price: `thing qty price cta|contact` (middle shuffled)."""
    middle = rng.sample([p["qty"], p["price"]], rng.choice([1, 2, 2]))
    return [p["thing"], *middle, *_tail(p, rng)]


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
    """A long ad: pitch, two or three details, contact and cta in either order."""
    head = [p["hook"], p["thing"], p["offer"] + rng.choice(["", "", ",", "."])]
    details = rng.sample([p["qty"], p["price"], p["story"]], rng.randint(2, 3))
    return head + details + rng.sample([p["contact"], p["cta"]], 2)


def _story(p: dict, rng: random.Random) -> list[str]:
    """A first-person lure: `[와|진짜] story cta|contact`."""
    return [p["lead"] if rng.random() < 0.5 else "", p["story"], *_tail(p, rng)]


def _claim(p: dict, rng: random.Random) -> list[str]:
    """A bare claim with a contact: `[who] claim cta|contact`."""
    return ([p["who"]] if rng.random() < 0.25 else []) + [p["claim"], *_tail(p, rng)]


STRUCTURES: tuple[Callable[[dict, random.Random], list[str]], ...] = (
    _bare, _deal, _with_contact, _ask, _notice, _story, _claim)
# Intent tuples that are not slots of their own (drawn or formatted in _parts).
_SPECIAL = {"hook", "thing", "offer", "unit", "price", "deal", "who", "claim", "call", "contact",
            "cta"}


def _parts(intent: str, rng: random.Random, plain: bool) -> dict:
    """Every slot of one message of `intent`, drawn in one register."""
    v, reg = INTENTS[intent], rng.choice(["polite", "casual"])
    thing = rng.choice(v["thing"])
    if not plain:
        thing = _evade(thing, rng, 0.12)
    won, people = _price(rng), rng.choice([rng.randint(2, 9), rng.randint(10, 99),
                                           rng.randint(1, 50) * 10])
    s = {"reg": reg, "hook": rng.choice(v["hook"]), "thing": thing, "thing_ro": thing + _ro(thing),
         "qty": _qty(rng, v["unit"]), "won": won, "price": rng.choice(v["price"]).format(p=won),
         "pct": f"{rng.randint(1, 60) * 5}%", "x": f"{rng.randint(2, 50)}배",
         "money": rng.choice([f"{rng.randint(1, 999)}만원", f"{rng.randint(1, 9)}억",
                              f"{rng.randint(10, 999)}만"]),
         "people": f"{people}명",
         "seat": f"{rng.randint(1, 20)}{rng.choice(['자리', '명'])}", "age": f"{rng.randint(20, 35)}살",
         "hour": rng.randint(1, 12)}
    s.update({k: rng.choice(words) for k, words in v.items() if k not in _SPECIAL})
    s.update(deal=rng.choice(v["deal"]).format(**s), claim=rng.choice(v["claim"]).format(**s),
             story=rng.choice(STORIES[intent]).format(**s), who=rng.choice(v["who"]),
             call=_reach(rng) if rng.random() < 0.4 else rng.choice(v["call"]).format(**s),
             reach=_reach(rng), offer=rng.choice(v["offer"]) + rng.choice(ENDINGS[reg]),
             ask=rng.choice(ASK[reg]), lead=rng.choice(LEAD), lead2=rng.choice(LEAD2),
             greet=rng.choice(GREET), benefit=rng.choice(BENEFIT), follow=rng.choice(FOLLOW),
             cta=_reach(rng) if rng.random() < 0.3 else rng.choice(CTA[reg] + v["cta"]),
             contact=CONTACTS[rng.choice(v["contact"])](rng))
    return s


def _plain(structure: int, p: dict, rng: random.Random) -> str:
    """A plain message: one sentence shape of the structure (its sentences made casual when
    drawn so), sentences joined by `. `, a space or `! `, sometimes a final `.` or `?`."""
    if p["reg"] == "casual" and rng.random() < 0.7:
        p = {**p, **{k: _casual(p[k])
                     for k in ("claim", "story", "call", "reach", "benefit", "follow")}}
    shape = rng.choice(PLAIN[structure])
    text = shape.replace(". ", rng.choice([". ", ". ", " ", " ", "! "])).format(**p)
    if text[-1] not in ".?!":
        if text.endswith(("분", "사람", "나요", "계세요", "계신가요", "까요", "실래요")):
            text += rng.choice(["?", "?", ""])
        else:
            text += rng.choice(["", "", "", ".", "!"])
    return text


def _decorate(words: list[str], rng: random.Random) -> list[str]:
    """At most one decoration, in about a third of the rich messages: a tag in front, an emoji
    or symbol (sometimes doubled) at either end, or a mark on the last word."""
    r = rng.random()
    if r < 0.08:
        return [rng.choice(TAGS), *words]
    if r < 0.25:
        noise = rng.choice(NOISE) * rng.choice([1, 1, 1, 2])
        return [noise, *words] if rng.random() < 0.3 else [*words, noise]
    if r < 0.33:
        glue = "" if "가" <= words[-1][-1] <= "힣" else " "               # not inside a link
        mark = rng.choice(["!!", "~~", "!!!", "ㅎㅎ", "ㄷㄷ", "^^"])
        return [*words[:-1], words[-1] + glue + mark]
    return words


def compose(intent: str, structure: int, rng: random.Random) -> str:
    """One message of `intent` in `structure`: plain (PLAIN_SHARE of them) or rich."""
    plain = rng.random() < PLAIN_SHARE
    p = _parts(intent, rng, plain)
    if plain:
        text = normalize_text(_plain(structure, p, rng))
    else:
        words = [w for w in STRUCTURES[structure](p, rng) if w]
        if rng.random() < 0.04 and len(" ".join(words)) < 90:
            words *= rng.randint(2, 3)                            # pasted twice or thrice
        text = normalize_text(" ".join(_decorate(words, rng)))
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
