"""Everyday Korean live-stream chat (normal and question), composed from open slot vocabularies.

These rows are generated TRAINING data: hard negatives, never evaluation data. The real sets
the model learns from (community comments, news comments, conversational utterances, generated
spam) hold no live-stream chat, so the model learns that 구독/좋아요/후원, 🔥🔥🔥 or a strong but
friendly `미쳤다` / `ㅋㅋㅋㅋ 아 배아파` mean spam or toxic. Each row here is harmless chat a
viewer types: no contact ids, links or phone numbers (the lures that make spam spam), no
insults. Every message is composed: a KIND (`reaction`, `support`, `stream_talk`, `greeting`,
`community` are label normal; `question` is label question) picks one of its templates, whose
`{slots}` draw from open vocabularies (invented nicknames, random numbers, games and their
jargon, verb forms in a polite or casual register); then style noise: trailing ㅋㅋ/ㅎㅎ/emoji/
!!/~, squeezed or dropped spaces, 요->용 and small typos. To add words, extend a tuple.
"""
from __future__ import annotations

import random
import re

from components.labels import normalize_text
from components.lexicon import JAMO_ABBREVIATIONS, SPAM_TERMS, TOXIC_WORDS
from components.normalize import deobfuscate


def _t(words: str) -> tuple[str, ...]:
    """A compact vocabulary: `"a|b c|d"` -> ("a", "b c", "d")."""
    return tuple(words.split("|"))


# ------------------------------------------------------------------ shared slots
NICK_HEAD = _t("졸린|배고픈|행복한|귀여운|새벽|야식|초보|고인물|조용한|말랑|딸기|우유|치즈|감자|고구마|"
               "호떡|두부|냥냥|멍멍|펭귄|토끼|곰돌|여우|너구리|다람쥐|구름|별빛|달빛|바람|초코|민트|"
               "레몬|복숭아|수박|꿀벌|햄찌|도토리|솜사탕|떡잎|하늘|소금|모찌|붕어빵|만두|김밥|라떼|"
               "보리|콩떡|자두|참치|오징어|부엉이|코알라|망고|유자|단팥|군밤|눈사람|퇴근|월요일")
NICK_TAIL = _t("|||이|러버|덕후|맨|짱|왕|대장|공주|왕자|킹|장인|요정|집사|탐험가|고양이|강아지|전사|"
               "마법사|도둑|조아|한입|빵|봇|님팬|뽀짝|단지|쟁이")
ADDR = _t("형|누나|언니|오빠|방장|방장님|스트리머님|님|쌤|대장|선생님|{nick}님|{nick}님|{nick}")
EMOJI = _t("🔥|👏|😂|🤣|❤️|💕|👍|😭|😍|🥰|😆|🎉|✨|💯|🙌|😮|🤩|😳|🥳|💖|😎|🤗|👀|🫶|💜|🧡|🙏|😹|💗")
TAIL = _t("ㅋㅋ|ㅋㅋㅋ|ㅎㅎ|ㅎㅎㅎ|!!|!|~|~~|ㅠㅠ|^^|..|ㄷㄷ|ㅋ|!!!|ㅎ")
GAMES = {
    "롤": _t("한타|바론|용|정글|갱|딜교|솔킬|펜타킬|점멸|궁|CS|랭겜|칼바람|야스오|리신|티모|이즈리얼|"
            "미드|탑|바텀|서폿|라인전|역갱|다이브|카정|오브젝트"),
    "배그": _t("자기장|치킨|에임|파밍|보급|헤드샷|차량|수류탄|저격|샷건|막판|에란겔|3층|풀파밍|스쿼드"),
    "발로란트": _t("에임|헤드|원탭|스파이크|에이스|클러치|제트|세이지|레이즈|연막|오퍼|설치|해체|라운드"),
    "메이플": _t("보스|스타포스|주문서|재획|사냥|코디|강화|파괴|보스 트라이|잠재|펫|검밑솔|아케인"),
    "로아": _t("레이드|군단장|카멘|각인|보석|재련|숙제|트라이|카던|패턴|딜 체크|에스더"),
    "마크": _t("건축|다이아|크리퍼|엔더드래곤|야생|레드스톤|농장|네더|동굴|집 짓기|철 곡괭이|마을"),
    "오버워치": _t("궁|힐|탱커|딜러|리퍼|겐지|메르시|한조|트레이서|수면총|거점|화물|자리야 궁"),
    "피파": _t("골|슈팅|드리블|감아차기|수비|역습|중거리|PK|헤딩|선방|스쿼드"),
}
FOOD = _t("치킨|피자|떡볶이|라면|마라탕|족발|햄버거|초밥|삼겹살|짜장면|국밥|김밥|탕후루|곱창|"
          "샌드위치|붕어빵|편의점 도시락|돈까스|냉면|쌀국수")
ITEM = _t("마이크|키보드|마우스|헤드셋|캠|모니터|의자|컴퓨터 사양|그래픽카드|마우스패드|조명|이어폰")
# ---------------------------------------------------------------------- reaction
EXCLAIM = _t("와|우와|오|헐|헉|대박|미쳤다|미쳤네|개미쳤다|미쳤다 진짜|개웃기네|존잼|개꿀잼|꿀잼|"
             "지렸다|지리네|ㄹㅇ|ㄹㅇ 레전드|레전드|레전드다|역대급|실화냐|이게 되네|말도 안 돼|"
             "소름|소름 돋았다|찢었다|폼 미쳤다|천재다|장인이다|예술이다|클립각|박제각|가보자고|"
             "가즈아|웃겨 죽겠다|숨 막혀|눈물 나|아 배아파|배아파|귀엽다|너무 귀여워|멋있다|"
             "개멋있다|감동이다|오졌다|나이스|굿굿|최고다|개웃겨|웃음 참기 실패|ㅇㅈ|인정|킹정|"
             "이걸 해내네|완벽하다|ㄷㄷ|무슨 일이야|세상에|어떡해")
LEAD = _t("|||와|아|진짜|ㄹㅇ|완전|아니|와 진짜|아 진짜|헐|오늘|이건|방금 거|역시|그저")
STRETCH = (("와", "아"), ("오", "오"), ("헐", "~"), ("우와", "아"), ("대박", "!"), ("헉", "!"),
           ("ㅠ", "ㅠ"), ("ㄷ", "ㄷ"), ("ㅎ", "ㅎ"), ("헐", "ㄹ"), ("아", "아"), ("오", "~"),
           ("가즈아", "아"), ("ㅜ", "ㅜ"), ("좋다", "아"), ("귀여워", "어"))
# ----------------------------------------------------------------------- support
SUB_OBJ = _t("구독|좋아요|알림 설정|알림|팔로우|구독이랑 좋아요|좋아요랑 구독|구독 좋아요 알림|멤버십|"
             "정기구독|구독 좋아요|알림 설정이랑 구독|팔로우랑 알림|좋아요 꾹|즐겨찾기|구독 알림")
SUB_VERB = (_t("눌렀어요|했어요|했습니다|하고 가요|하고 갑니다|누르고 갑니다|박고 갑니다|완료했어요|"
               "눌렀습니다|해놨어요|꾹 눌렀어요|하고 왔어요|누르고 왔어요"),
            _t("함|했다|하고 감|누름|박음|완료|박고 감|누르고 감|ㅇㅋ|했음|완|박고 갑니다"))
SUB_LEAD = _t("||방금|오늘|드디어|바로|저도|나도|이제|벌써|일단|당연히|{addr}|오자마자|보자마자|"
              "영상 보고|늦었지만|매번")
GIFT = _t("후원|도네|별풍|별풍선|치즈|슈챗|슈퍼챗|비트|구독 선물|응원 후원|도네이션")
GIFT_LINE = _t("{nick}님 {gift} 감사합니다|{nick}님 {gift} ㄷㄷ|{nick}님 {gift} {cnt}개 ㄷㄷ|"
               "소소하게 {gift} 했어요|{gift} 쏘고 갑니다|{gift} 보냈어요|{gift} 읽어주세요|"
               "첫 {gift} 해봤어요|{nick}님 {gift} 축하|{gift} 리액션 귀엽다|{nick}님 통 크시네|"
               "{n}개월째 구독 중이에요|구독 {n}개월 됐어요|{nick}님 {n}개월 구독 축하해요|"
               "월급날이라 {gift} 했어요|{gift} 알림 소리 좋다")
MILESTONE = _t("구독|구독자|팔로워|팔로우|애청자|즐겨찾기|멤버십|시청자")
MILE_LINE = _t("{m} {big} 축하{e}|{big} {m} 축하{e}|{m} {big} 가즈아|{m} {big} 달성 축하{e}|{big} 돌파 ㅊㅋㅊㅋ|"
               "벌써 {m} {big}이라니|{m} {big} 찍었다|{big} 축하{e}|{m} {big} 얼마 안 남았다|{m} {big} 기념 방송 기대")
CONGRATS = (_t("해요|합니다|드려요|드립니다|해요~|드려용"), _t("해|해 ㅊㅋ|함|!|~"))
CHEER = _t("오늘도 화이팅|화이팅|파이팅|힘내세요|힘내요|응원합니다|응원해요|항상 응원해요|늘 응원합니다|"
           "사랑해요|오늘도 고생 많으셨어요|방송 재밌어요|늘 잘 보고 있어요|최고예요|최고|짱|"
           "행복하세요|건강 챙기세요|목 관리 잘하세요|오늘도 힘내|늘 감사해요|오래오래 방송해주세요|"
           "덕분에 웃고 가요|오늘 방송 꿀잼")
# ------------------------------------------------------------------- stream_talk
PLAY_GOOD = _t("잘한다|개잘하네|미쳤다|오졌다|깔끔하다|침착하네|폼 좋다|손 풀렸네|타이밍 좋았다|나이스|"
               "개쩐다|클라스 보소|각 좋았다|이걸 사네|이걸 잡네|장인이네|센스 미쳤다|보법이 다르다|"
               "지렸다|완벽했다|교과서네|깔끔 그 자체")
PLAY_BAD = _t("아깝다|아 아깝다|아까비|그걸 못 먹네|그걸 놓치네|아쉽다|한 끗 차이|다음엔 된다|"
              "운이 없었네|억울하겠다|킹받네|살짝 늦었다|그럴 수 있지|괜찮아 괜찮아|다시 가보자|"
              "손이 미끄러졌네|오늘 손이 좀 무겁네|아 이걸 지네|한 대만 더 쳤으면|타이밍 아깝다")
GAME_MOOD = _t("각이다|재밌네|오랜만이네|폼 좋네|잘 풀린다|안 풀리네|접전이네|꿀잼이네|긴장된다|"
               "보는 맛 있다|하는 거 좋다|또 하네|빡겜 모드")
STREAM_LINE = _t("{lead} {j} {good}|{g} {j} {good}|방금 {j} {good}|{j} 각이었는데 {bad}|"
                 "{addr} {j} {good}|오늘 {g} {mood}|{j} 타이밍 {good}|{j} {bad}|{lead} {bad}|"
                 "{addr} {bad}|{g} {n}판째 {mood}|{j} 보는데 {react}|{g} 하는 {addr} {good}")
MUSIC = _t("노래 좋다|이 노래 좋네요|브금 좋다|브금 맛집|선곡 미쳤다|목소리 좋다|노래 잘 부르시네요|"
           "이 노래 명곡이지|한 곡 더|노래 듣다가 잠 깼다|라이브 좋다|고음 지렸다|음색 좋다|"
           "이 노래 추억이다|노래방 가고 싶다")
FOOD_C = _t("맛있겠다|땡긴다|먹고 싶다|보니까 배고프다|맛집이네|국룰이지|비주얼 미쳤다|야식으로 딱이다|"
            "먹방 꿀잼|냄새 여기까지 난다|저도 시켰어요|오늘 저녁은 이거다")
CAM = _t("캠 켜졌다|캠 화질 좋네|오늘 머리 예쁘다|옷 잘 어울려요|조명 바뀌었네|오늘 헤어 찰떡|"
         "캠 각도 좋다|안경 잘 어울려요|오늘 얼굴 좋아 보여요|고양이 나왔다|강아지 귀엽다|"
         "방 정리했네|배경 바뀌었네|오늘 텐션 좋다")
COLLAB = _t("꿀잼|재밌다|케미 좋다|또 해주세요|조합 좋다|레전드|웃기다|티키타카 좋다|자주 해주세요")
CONTENT_LINE = _t("{music}|{food} {food_c}|{cam}|{nick}님이랑 합방 {collab}|합방 {collab}|"
                  "오늘 게스트 {collab}|{addr} {music}|{addr} {cam}|{h}시간째 보는 중|"
                  "켠왕 가보자|오늘 방송 {collab}")
# ---------------------------------------------------------------------- greeting
HELLO = _t("안녕하세요|안녕|하이|ㅎㅇ|ㅎㅇㅎㅇ|방가|방가방가|반가워요|하이하이|안뇽|안녕하세용|굿모닝|"
           "좋은 저녁|좋은 아침|출석|출첵|출석 체크|인사 드려요|왔어요|저 왔어요|왔다|등장|하이요")
ARRIVE = _t("퇴근하고 왔어요|퇴근 완료|야근하고 왔어요|학교 끝나고 왔어요|학원 끝나고 왔어요|"
            "알바 끝나고 왔어요|일어났어요|첫 방문이에요|처음 왔어요|오랜만이에요|오랜만에 왔어요|"
            "밥 먹고 왔어요|씻고 왔어요|늦었다|지각|드디어 왔다|운동하고 왔어요|휴가 나왔어요|"
            "출근길에 보는 중|버스에서 보는 중|점심 먹으면서 봐요")
BYE = _t("잘 자요|잘 자|굿나잇|굿밤|내일 봐요|먼저 갈게요|먼저 자러 갈게요|수고하셨어요|"
         "오늘도 수고했어요|고생하셨습니다|다음 방송 때 봐요|ㅂㅇ|ㅂㅂ|빠이|바이바이|ㅃㅃ|"
         "좋은 꿈 꾸세요|내일 또 올게요|출근하러 갑니다|이만 자러 감")
GREET_LINE = _t("{hello}|{hello} {addr}|{addr} {hello}|{nick}님 {hello}|{hello} {arrive}|"
                "{arrive}|{when} {arrive}|{bye}|{bye} {addr}|{nick}님 {bye}|{addr} {bye}|"
                "{hello} {nick}님 {arrive}|"
                "{h}시 퇴근하고 왔어요|{n}일 만에 왔어요")
WHEN = _t("오늘도|방금|드디어|새벽에|점심시간에|퇴근길에|{h}시에|주말이라|겨우|헐레벌떡")
# --------------------------------------------------------------------- community
SOURCE = _t("친구가 카톡으로 알려줘서|카톡으로 친구가 알려줘서|디코 공지 보고|디코에서 얘기 나와서|"
            "유튜브 쇼츠 보고|알고리즘 타고|클립 보고|팬카페 공지 보고|인스타 스토리 보고|알림 떠서|"
            "메인에 떠서|추천에 떠서|커뮤에서 보고|친구 추천으로|단톡방에서 친구들이 얘기해서|"
            "유튜브 편집본 보고|하이라이트 보고|동생이 보길래|형이 틀어놔서")
COME = (_t("왔어요|왔습니다|들어왔어요|와봤어요|놀러 왔어요"), _t("왔음|옴|왔다|와봄|놀러 옴"))
SEEN = _t("방송 공지|공지 링크|공지|편집본|유튜브 영상|쇼츠|다시보기|클립|팬아트|하이라이트 영상|"
          "팬카페 글|방송 일정표|어제 영상|합방 편집본|공지 사항")
SEEN_C = _t("잘 봤어요|재밌게 봤어요|보고 왔어요|봤는데 웃기더라|레전드였음|확인했어요|봤어요|"
            "몇 번 돌려봤어요|댓글 달았어요|보고 빵 터짐")
PLACE = _t("디코 서버|팬카페|디코|팬카페 게시판|디코 채널|유튜브 커뮤니티")
PLACE_C = _t("재밌네요|분위기 좋네요|가입했어요|들어가 봤어요|활발하네요|사람 많네요|잘 돼있네요|"
             "글 올렸어요|등업했어요|출석했어요")
EVENT = _t("이벤트|추첨 이벤트|시청자 이벤트|굿즈 이벤트|팬아트 이벤트|{big} 기념 이벤트|퀴즈 이벤트|"
           "시청자 참여 이벤트")
EVENT_C = _t("당첨된 분 축하해요|당첨 축하드려요|응모했어요|참여했어요|떨어졌다 ㅠㅠ|기대할게요|"
             "재밌었어요|결과 나왔네|또 해주세요|당첨자 부럽다")
COMMUNITY_LINE = _t("{source} {come}|{seen} {seen_c}|{place} {place_c}|{event} {event_c}|"
                    "{nick}님 {event} 당첨 축하해요|{addr} {seen} {seen_c}|{source} 처음 {come}|"
                    "{place}에 {seen} 올라왔네요|{event} 공지 봤어요")
# ---------------------------------------------------------------------- question
FORMS = {  # slot -> (polite forms, casual forms)
    "해": (_t("해요|하세요|하시나요|하나요|하시는 거예요|하실 거예요"), _t("해|하냐|함|하심|하니|하나|할 거임")),
    "써": (_t("써요|쓰세요|쓰시나요|쓰시는 거예요|쓰시는지"), _t("써|쓰냐|씀|쓰심|쓰는 거임")),
    "있": (_t("있어요|있나요|있으세요|있으신가요"), _t("있어|있냐|있음|있나|있니")),
    "좋": (_t("좋아요|좋나요|좋은가요"), _t("좋아|좋냐|좋음|좋나")),
    "돼": (_t("돼요|되나요|되는 건가요|될까요"), _t("돼|되냐|됨|되나|되는 거임")),
    "뭐": (_t("뭐예요|뭐에요|뭔가요|뭐죠"), _t("뭐야|뭐냐|뭐임|뭐|뭐지")),
    "언제": (_t("언제예요|언제에요|언제인가요|언제쯤이에요|언제죠"), _t("언제야|언제냐|언제임|언제|언제쯤")),
    "먹": (_t("드셨어요|드셨나요|먹었어요|드실 거예요"), _t("먹었어|먹었냐|먹음|먹었나|먹을 거임")),
    "가": (_t("가요|가나요|가세요|가시나요"), _t("가|가냐|감|가나")),
    "했": (_t("했어요|하셨어요|하셨나요|했나요"), _t("했어|했냐|함|했음|했나")),
    "샀": (_t("사셨어요|샀어요|사셨나요|구하셨어요"), _t("샀어|샀냐|삼|산 거임")),
    "봐": (_t("봐요|보세요|보나요|볼 수 있나요"), _t("봐|보냐|봄|보나")),
    "N": (_t("예요|에요|인가요"), _t("임|야|냐|")),           # after a word without a final consonant
    "B": (_t("이에요|인가요"), _t("임|이야|이냐|")),          # after a final consonant
}
QUESTION = _t("몇 시까지 {해}|오늘 몇 시까지 {해}|방송 몇 시간 {해}|내일도 방송 {해}|주말에도 방송 {해}|"
              "오늘 합방 {해}|다음 방송 {언제}|다음 합방 {언제}|내일 방송 {언제}|이 게임 이름 {뭐}|"
              "지금 하는 게임 {뭐}|이 노래 제목 {뭐}|브금 제목 {뭐}|지금 나오는 노래 {뭐}|{item} 뭐 {써}|"
              "{item} 어디 거 {써}|디코 {있}|팬카페 {있}|유튜브 채널 {있}|다시보기 {있}|굿즈 {있}|"
              "구독하면 뭐 {좋}|멤버십 가입하면 뭐 {좋}|후원은 어떻게 {해}|도네는 어떻게 {해}|"
              "{gift_topic} 어떻게 {해}|시참 {돼}|노래 신청 {돼}|게임 신청 {돼}|{g} 티어 {뭐}|{g} 본캐 {뭐}|"
              "{g} 언제 또 {해}|{g} 몇 년 {했}|지금 몇 판째{N}|오늘 몇 승{B}|저녁 {먹}|오늘 뭐 {먹}|"
              "{food} {먹}|이 맵 어디로 {가}|다음 보스 어디로 {가}|방금 뭐 {했}|{j} 어떻게 {해}|"
              "이 캐릭 이름 {뭐}|방송 시작한 지 얼마나 {돼}|방송 몇 년 {했}|{item} 어디서 {샀}|{j} 왜 안 {해}|"
              "공지 어디서 {봐}|일정표 어디 {있}|{nick}님 누구{N}|{g} 다음 패치 {언제}|{big} 기념 이벤트 {해}")
QPRE = _t("||||혹시|근데|{addr}|{addr} 혹시|질문요|궁금한데|아 근데|저기|초보 질문인데|"
          "뉴비 질문요|{addr} 근데")
QMARK = _t("?|?|??|||?!|???|?~| ?|?ㅎㅎ|?ㅋㅋ")

KINDS = ("reaction", "support", "stream_talk", "greeting", "community", "question")
# Kinds taken in this order, again and again: question is 2 of 10 rows (20%).
SCHEDULE = ("reaction", "support", "stream_talk", "question", "reaction", "greeting",
            "stream_talk", "support", "community", "question")
# Never in a row, not even across a squeezed space (`토끼` after `토`): swear words and the
# gambling/loan words of spam (messenger names stay: `카톡으로 알려줘서 왔어요` is the point).
BANNED = frozenset(TOXIC_WORDS) | frozenset(JAMO_ABBREVIATIONS) | frozenset(SPAM_TERMS)


# ------------------------------------------------------------------------ helpers
def _final(word: str) -> bool:
    """True when `word` ends in a Hangul syllable with a final consonant (받침)."""
    ch = word[-1:] or "a"
    return "가" <= ch <= "힣" and (ord(ch) - 0xAC00) % 28 != 0


def _nick(rng: random.Random) -> str:
    """An invented nickname: `졸린감자`, `딸기덕후12`, `새벽여우_`."""
    name = rng.choice(NICK_HEAD) + rng.choice(NICK_TAIL + NICK_HEAD[:20])
    r = rng.random()
    return name + (str(rng.randint(1, 9999)) if r < 0.3 else rng.choice("_ㅇ") if r < 0.36 else "")


def _laugh(rng: random.Random) -> str:
    """A laughter run of random length: ㅋㅋㅋ, ㅋㅋㅋㅋㅋㅋㅋㅋ, ㅎㅎㅎ, ㅋㅋㅋㅋㅋ큐ㅠ."""
    k = rng.choice([rng.randint(2, 6), rng.randint(2, 6), rng.randint(3, 12), rng.randint(8, 24)])
    run = "ㅋ" * k if rng.random() < 0.8 else "ㅎ" * min(k, 8)
    return run + rng.choice(["", "", "", "ㅋ" * rng.randint(1, 4), "ㅠㅠ", "큐ㅠ", "ㅎㅎ"])


def _emoji(rng: random.Random) -> str:
    """1-3 different emoji, each 1-5 times, sometimes spaced: 🔥🔥🔥, 😂😂 👏."""
    parts = [e * rng.randint(1, 5) for e in rng.sample(EMOJI, rng.randint(1, 3))]
    return rng.choice(["", " "]).join(parts)


def _milestone(rng: random.Random) -> str:
    return rng.choice([f"{rng.randint(1, 300)}만", f"{rng.randint(1, 9)}천", f"{rng.randint(1, 99)}만",
                       f"{rng.randint(1, 99) * 100}명", f"{rng.randint(1, 9) * 1000:,}명",
                       f"{rng.randint(1, 50) * 10}만", f"{rng.randint(101, 9999)}명"])


# {slot} -> vocabulary; register slots -> (polite, casual); the rest are drawn in _fill.
VOCAB = {"addr": ADDR, "item": ITEM, "food": FOOD, "gift": GIFT, "good": PLAY_GOOD,
         "bad": PLAY_BAD, "mood": GAME_MOOD, "lead": LEAD, "react": EXCLAIM, "music": MUSIC,
         "food_c": FOOD_C, "cam": CAM, "collab": COLLAB, "hello": HELLO, "arrive": ARRIVE,
         "bye": BYE, "when": WHEN, "source": SOURCE, "seen": SEEN, "seen_c": SEEN_C,
         "place": PLACE, "place_c": PLACE_C, "event": EVENT, "event_c": EVENT_C, "m": MILESTONE,
         "sub": SUB_OBJ, "sublead": SUB_LEAD, "cheer": CHEER}
REGISTER = {**FORMS, "e": CONGRATS, "come": COME, "subv": SUB_VERB}


def _fill(template: str, rng: random.Random, polite: bool) -> str:
    """Fill every `{slot}` of `template` (slots may hold slots: {addr} -> {nick}님)."""
    game = rng.choice(sorted(GAMES))                   # {g} and its jargon {j} agree
    def slot(m: re.Match) -> str:
        key = m.group(1)
        if key in VOCAB:
            return rng.choice(VOCAB[key])
        if key in REGISTER:
            return rng.choice(REGISTER[key][0 if polite else 1])
        if key == "gift_topic":                        # 후원은 / 도네는
            gift = rng.choice(GIFT)
            return gift + ("은" if _final(gift) else "는")
        return {"nick": lambda: _nick(rng), "big": lambda: _milestone(rng),
                "g": lambda: game, "j": lambda: rng.choice(GAMES[game]),
                "n": lambda: str(rng.choice([rng.randint(2, 12), rng.randint(2, 60)])),
                "h": lambda: str(rng.randint(1, 12)),
                "cnt": lambda: rng.choice([str(rng.randint(1, 999)),
                                           f"{rng.randint(1, 99) * 100:,}"]),
                }[key]()
    for _ in range(3):
        template = re.sub(r"\{(\w+)\}", slot, template)
    return template


# ----------------------------------------------------------------------- messages
def _reaction(rng: random.Random, polite: bool) -> str:
    word, more = rng.choice(STRETCH)
    word2 = rng.choice(EXCLAIM)
    return rng.choice([
        lambda: _laugh(rng),
        lambda: f"{_laugh(rng)} {rng.choice(EXCLAIM)}",
        lambda: f"{rng.choice(LEAD)} {rng.choice(EXCLAIM)}",
        lambda: f"{rng.choice(LEAD)} {rng.choice(EXCLAIM)} {_laugh(rng)}",
        lambda: f"{rng.choice(EXCLAIM)} {_emoji(rng)}",
        lambda: _emoji(rng),
        lambda: _emoji(rng),
        lambda: word + more * rng.randint(2, 7),
        lambda: " ".join([word2] * rng.randint(2, 3 if len(word2) < 4 else 2)),  # not copy-paste
        lambda: f"{rng.choice(EXCLAIM)} {rng.choice(EXCLAIM)}",
        lambda: f"{_fill('{addr}', rng, polite)} {rng.choice(EXCLAIM)}",
    ])()


def _support(rng: random.Random, polite: bool) -> str:
    return _fill(rng.choice([
        "{sublead} {sub} {subv}", "{sublead} {sub} {subv}", "{sub} {subv}", "{sub} {subv} {addr}",
        "{sub} {subv} {cheer}", "{addr} {cheer}", "{cheer}", "{cheer} {addr}",
        rng.choice(GIFT_LINE), rng.choice(GIFT_LINE), rng.choice(MILE_LINE), rng.choice(MILE_LINE),
    ]), rng, polite)


def _stream_talk(rng: random.Random, polite: bool) -> str:
    return _fill(rng.choice(STREAM_LINE + CONTENT_LINE), rng, polite)


def _greeting(rng: random.Random, polite: bool) -> str:
    return _fill(rng.choice(GREET_LINE), rng, polite)


def _community(rng: random.Random, polite: bool) -> str:
    return _fill(rng.choice(COMMUNITY_LINE), rng, polite)


def _question(rng: random.Random, polite: bool) -> str:
    body = _fill(rng.choice(QUESTION), rng, polite)
    mark = rng.choice(QMARK)
    if "?" not in mark and not re.search(r"(요|나|까|냐|니|죠|지|뭐|언제|쯤|뭐임|언제임|심)$", body):
        mark = "?"  # `디코 있음` / `해` without a mark reads as a statement
    return f"{_fill(rng.choice(QPRE), rng, polite)} {body}{mark}"


MAKERS = {"reaction": _reaction, "support": _support, "stream_talk": _stream_talk,
          "greeting": _greeting, "community": _community, "question": _question}


def _style(text: str, rng: random.Random, question: bool) -> str:
    """Chat noise: trailing ㅋㅋ/emoji/!!/~, 요->용, squeezed or dropped spaces, a small typo."""
    text = normalize_text(text)
    if rng.random() < 0.3:
        jamo_end = re.search("[ㄱ-ㅣ]$", text)  # no ㅋㅋ after ㅋㅋ
        text += rng.choice(["", " "]) + (_emoji(rng) if jamo_end else
                                         rng.choice([rng.choice(TAIL), _laugh(rng), _emoji(rng)]))
    elif not question and rng.random() < 0.1:
        text = f"{rng.choice(TAIL[:4])} {text}"
    if rng.random() < 0.1:
        text = re.sub(r"요(?=\W*$|\s)", lambda m: rng.choice(["용", "여", "욤", "요오"]), text, count=1)
    if rng.random() < 0.06 and len(text) <= 30:
        text = text.replace(" ", "")
    elif rng.random() < 0.1 and text.count(" ") >= 2:
        i = rng.choice([m.start() for m in re.finditer(" ", text)])
        text = text[:i] + text[i + 1:]
    inner = [i for i in range(1, len(text) - 2) if all("가" <= c <= "힣" for c in text[i - 1:i + 2])]
    if rng.random() < 0.07 and inner:          # a doubled, dropped or swapped syllable mid-word
        i = rng.choice(inner)
        text = rng.choice([text[:i] + text[i] + text[i:], text[:i] + text[i + 1:],
                           text[:i] + text[i + 1] + text[i] + text[i + 2:]])
    return normalize_text(text)


def _clean(text: str) -> bool:
    """No BANNED word, no non-laughter unit 8+ times in a row, nothing a disguise would
    reveal (a typo must not make one)."""
    spaceless = text.replace(" ", "")
    flood = any(not re.fullmatch(r"[ㄱ-ㅣ!?.~^]+", m.group(1))   # 👀 x10 reads as a flood
                for m in re.finditer(r"(.{1,3}?)\1{7,}", spaceless))
    return not flood and not any(w in spaceless for w in BANNED) and not deobfuscate(text).revealed


def compose(kind: str, rng: random.Random) -> str:
    """One message of `kind`, styled."""
    polite = rng.random() < 0.55
    return _style(MAKERS[kind](rng, polite), rng, kind == "question")


def generate(n: int, seed: int = 5) -> list[dict]:
    """`n` rows {text, label, kind}: kinds in SCHEDULE order (20% question), texts unique,
    1-120 characters, deterministic for `seed`."""
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    misses = 0
    while len(rows) < n:
        kind = SCHEDULE[len(rows) % len(SCHEDULE)]
        text = compose(kind, rng)
        if not 1 <= len(text) <= 120 or text in seen or not _clean(text):
            misses += 1
            if misses > 50 * n + 1000:
                raise RuntimeError(f"could only generate {len(rows)} unique livechat texts of {n}")
            continue
        seen.add(text)
        rows.append({"text": text, "label": "question" if kind == "question" else "normal",
                     "kind": kind})
    return rows
