"""Behavioural checks of a classifier on fixed, hand-written probes (after CheckList and
Made-With-ML's behavioural tests).

- **invariance**: a harmless addition to an everyday message (`ㅋㅋ`, an emoji, a leading
  `@nickname` mention) must not flip it to toxic or spam;
- **direction**: a spam lure added to an everyday message (a short link, a messenger id)
  must raise its spam probability: it may not fall by more than a tolerance, and it must
  rise on average;
- **must-pass**: obvious messages of each label that any usable model labels right.

`measure` scores every probe with one batched `label_probs` call (evaluate, for candidate
and champion) and records raw figures only; `judge` applies the thresholds of params
`gate.behaviour` (register), and `metric_items` gives the figures MLflow logs. The lists were
written for this module, not drawn from the data generators (`몇 시까지 방송해요?` is also a
row of the hand-written golden set).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from components.labels import LABELS

SPAM = LABELS.index("spam")
FLAGGED = ("toxic", "spam")

# Everyday stream chat (label normal): the messages the invariance and direction checks perturb.
EVERYDAY: tuple[str, ...] = (
    "오늘 방송 분위기 너무 좋다",
    "방금 그 플레이 진짜 깔끔했어요",
    "퇴근하고 바로 들어왔습니다",
    "저녁 먹으면서 보는 중",
    "브금 바뀐 거 좋네요",
    "와 이걸 이기네",
    "아까 보스전 보면서 손에 땀났어요",
    "화질 오늘 엄청 선명하네요",
    "다들 좋은 저녁 보내세요",
    "이번 판은 운이 좀 없었네요",
    "캐릭터 커스텀 예쁘게 하셨네",
    "주말에 다시 보러 올게요",
    "목소리 오늘 좀 잠기신 듯",
    "고양이 화면에 나왔다",
    "이 노래 어디서 들어본 것 같은데",
    "어제 방송은 다시보기로 다 봤어요",
    "컨트롤 실력 많이 느셨네요",
    "오늘은 일찍 주무세요",
    "이번 패치 후로 게임이 좀 쉬워졌네요",
    "아 방금 점프 아깝다",
    "채팅창 오늘 활발하네",
    "처음 왔는데 재밌게 보고 갑니다",
    "비 와서 그런지 방송 보기 딱 좋네요",
    "라면 끓이러 잠깐 다녀올게요",
    "그 아이템 저도 써봤는데 괜찮았어요",
    "오프닝 영상 새로 만드셨네",
    "드디어 엔딩 보는구나",
    "인내심 대단하십니다",
    "오늘도 수고 많으셨어요",
    "내일 출근인데 조금만 더 보고 잘게요",
)

# (key, shown as, prefix, suffix): the key names the MLflow metric (ASCII), the display the reason.
INVARIANCE: tuple[tuple[str, str, str, str], ...] = (
    ("kk", "ㅋㅋ", "", "ㅋㅋ"),
    ("fire", "🔥", "", " 🔥"),
    ("laugh", "😂", "", "😂"),
    ("mention", "@감자", "@감자 ", ""),
)
DIRECTION: tuple[tuple[str, str, str, str], ...] = (
    ("link", "link", "", " https://bit.ly/3kQz7Wp"),
    ("kakao", "카톡 id", "", " 카톡 abc123"),
    ("telegram", "텔레 id", "", " 텔레 @xyz"),
)

# Obvious messages of each label: any usable model labels these right.
MUST_PASS: Mapping[str, tuple[str, ...]] = {
    "normal": (
        "안녕하세요 오늘도 왔어요",
        "ㅋㅋㅋㅋ 웃기다",
        "오늘 방송 꿀잼이에요",
        "좋은 밤 되세요",
        "방금 진짜 잘했다",
        "배고파서 치킨 시켰어요",
        "다음 판 화이팅",
        "노래 좋네요",
        "잘 자요 내일 봬요",
        "고생하셨습니다",
    ),
    "question": (
        "몇 시까지 방송해요?",
        "지금 하는 게임 이름이 뭐예요?",
        "다음 방송은 언제 하세요?",
        "마이크 어떤 거 쓰세요?",
        "이 노래 제목이 뭐예요?",
        "오늘 합방 누구랑 해요?",
        "캐릭터 지금 몇 레벨이에요?",
        "키보드 무슨 축 쓰세요?",
        "다시보기는 어디서 볼 수 있어요?",
        "이 보스 공략법 있어요?",
    ),
    "toxic": (
        "닥쳐 병신아",
        "씨발 방송 좆같이 하네",
        "개새끼야 꺼져",
        "미친년 목소리 듣기 싫어",
        "이 새끼 진짜 존나 못하네",
        "좆밥 주제에 말이 많아",
        "병신같은 놈 방송 접어라",
        "애미 없는 새끼",
        "지랄하지 마 씹새야",
        "대가리 텅텅 빈 놈아",
    ),
    "spam": (
        "무료 코인 100만원 지급! https://bit.ly/free-coin 지금 클릭",
        "팔로워 1000명 5천원에 늘려드립니다 https://tinyurl.com/fol1000",
        "고수익 부업 하루 30만원 보장 https://side-job.biz 카톡 money77",
        "이벤트 당첨! 문화상품권 받기 http://event-gift.xyz",
        "비트코인 리딩방 수익률 300% https://t.me/coinking 입장",
        "성인 방송 무료 시청 https://hot-cam.site 19금",
        "토토 첫충 50% 꽁머니 지급 https://toto-win.kr",
        "구독자 1만 만들어 드려요 최저가 https://sub-boost.io",
        "무직자 당일 대출 승인 https://loan-now.co 010-1234-5678",
        "게임 아이템 최저가 판매 https://cheap-item.shop 카톡 item99",
    ),
}


def _apply(prefix: str, suffix: str, text: str) -> str:
    return f"{prefix}{text}{suffix}"


def probe_texts() -> list[str]:
    """Every text the checks score, each once, in a fixed order."""
    texts = list(EVERYDAY)
    for _, _, prefix, suffix in INVARIANCE + DIRECTION:
        texts += [_apply(prefix, suffix, t) for t in EVERYDAY]
    for label in LABELS:
        texts += MUST_PASS[label]
    return list(dict.fromkeys(texts))


def measure(model, batch_size: int = 64) -> dict:
    """Score the probes with `model.label_probs` (one call) and record the raw figures.

    invariance[key]: messages, flipped (to toxic/spam from a label that was neither), examples;
    direction[key]: messages, spam-probability change per message (text -> after - before);
    must_pass[label]: messages, correct, misses (text -> predicted label).
    """
    texts = probe_texts()
    probs = np.asarray(model.label_probs(texts, batch_size=batch_size), dtype=float)
    if probs.shape != (len(texts), len(LABELS)):
        raise ValueError(f"label_probs returned shape {probs.shape}; expected ({len(texts)}, {len(LABELS)})")
    row = {t: i for i, t in enumerate(texts)}
    label = {t: LABELS[int(probs[i].argmax())] for t, i in row.items()}
    out: dict = {"invariance": {}, "direction": {}, "must_pass": {}}
    for key, shown, prefix, suffix in INVARIANCE:
        flips = [f"'{_apply(prefix, suffix, t)}' -> {label[_apply(prefix, suffix, t)]}"
                 for t in EVERYDAY
                 if label[t] not in FLAGGED and label[_apply(prefix, suffix, t)] in FLAGGED]
        out["invariance"][key] = {"shown": shown, "messages": len(EVERYDAY), "flipped": len(flips),
                                  "examples": flips[:3]}
    for key, shown, prefix, suffix in DIRECTION:
        change = {t: round(float(probs[row[_apply(prefix, suffix, t)], SPAM] - probs[row[t], SPAM]), 4)
                  for t in EVERYDAY}
        out["direction"][key] = {"shown": shown, "messages": len(EVERYDAY), "spam_change": change}
    for gold in LABELS:
        misses = [f"'{t}' -> {label[t]}" for t in MUST_PASS[gold] if label[t] != gold]
        out["must_pass"][gold] = {"messages": len(MUST_PASS[gold]),
                                  "correct": len(MUST_PASS[gold]) - len(misses), "misses": misses}
    return out


def direction_summary(check: dict, tolerance: float) -> dict:
    """wrong: messages whose spam probability fell by more than `tolerance`; mean_rise: the
    mean change; examples of the wrong way."""
    change = check["spam_change"]
    wrong = [(t, d) for t, d in change.items() if d < -float(tolerance)]
    return {"messages": len(change), "wrong": len(wrong),
            "wrong_share": len(wrong) / len(change) if change else 0.0,
            "mean_rise": float(np.mean(list(change.values()))) if change else 0.0,
            "examples": [f"'{t}' {d:+.3f}" for t, d in sorted(wrong, key=lambda x: x[1])[:3]]}


def metric_items(results: dict | None, cfg: Mapping, prefix: str = "") -> dict[str, float]:
    """The figures MLflow logs: behaviour_invariance_<key> (flip rate),
    behaviour_direction_<key>_wrong (share) and _rise (mean), behaviour_must_pass_<label>."""
    if not results:
        return {}
    out = {}
    for key, v in results["invariance"].items():
        out[f"{prefix}behaviour_invariance_{key}"] = v["flipped"] / max(v["messages"], 1)
    for key, v in results["direction"].items():
        s = direction_summary(v, cfg["direction_tolerance"])
        out[f"{prefix}behaviour_direction_{key}_wrong"] = s["wrong_share"]
        out[f"{prefix}behaviour_direction_{key}_rise"] = s["mean_rise"]
    for label, v in results["must_pass"].items():
        out[f"{prefix}behaviour_must_pass_{label}"] = v["correct"] / max(v["messages"], 1)
    return out


def judge(results: dict | None, cfg: Mapping) -> tuple[bool, list[str]]:
    """(passed, reasons) under params gate.behaviour: max_invariance_flip, direction_tolerance,
    max_wrong_direction, min_spam_rise, min_must_pass (per label) and required. When not
    required, failures are still named (prefixed "not required") but do not fail the gate."""
    check_config(cfg)
    required = bool(cfg["required"])
    if not results:
        if required:
            return False, ["behaviour: no behavioural results in metrics.json but "
                           "gate.behaviour.required is true"]
        return True, ["behaviour: no behavioural results (gate.behaviour.required is false)"]
    failures = []
    max_flip = float(cfg["max_invariance_flip"])
    for v in results["invariance"].values():
        n = max(v["messages"], 1)
        if v["flipped"] / n > max_flip:
            failures.append(f"invariance {v['shown']} flipped {v['flipped']}/{v['messages']} normal "
                            f"messages (max {max_flip:.0%}; e.g. {'; '.join(v['examples'][:2])})")
    max_wrong, min_rise = float(cfg["max_wrong_direction"]), float(cfg["min_spam_rise"])
    for v in results["direction"].values():
        s = direction_summary(v, cfg["direction_tolerance"])
        if s["wrong_share"] > max_wrong:
            failures.append(f"direction {v['shown']}: spam probability fell by more than "
                            f"{cfg['direction_tolerance']} on {s['wrong']}/{s['messages']} messages "
                            f"(max {max_wrong:.0%}; e.g. {'; '.join(s['examples'][:2])})")
        if s["mean_rise"] < min_rise:
            failures.append(f"direction {v['shown']}: spam probability rose {s['mean_rise']:+.3f} on "
                            f"average (min {min_rise}): the model ignores it")
    floors = cfg["min_must_pass"]
    for label, v in results["must_pass"].items():
        floor = float(floors[label] if isinstance(floors, Mapping) else floors)
        if v["correct"] / max(v["messages"], 1) < floor:
            failures.append(f"must-pass {label} {v['correct']}/{v['messages']} right (min {floor:.0%}; "
                            f"e.g. {'; '.join(v['misses'][:2])})")
    if not failures:
        worst = max((v["flipped"] for v in results["invariance"].values()), default=0)
        return True, [f"behaviour: invariance, direction and must-pass checks within limits "
                      f"(most flips {worst}/{len(EVERYDAY)})"]
    head = "behaviour: " if required else "behaviour (not required): "
    return not required, [head + f for f in failures]


def check_config(cfg: Mapping) -> None:
    """Raise ValueError naming a missing or out-of-range gate.behaviour key."""
    for key in ("required", "max_invariance_flip", "direction_tolerance", "max_wrong_direction",
                "min_spam_rise", "min_must_pass"):
        if key not in cfg:
            raise ValueError(f"gate.behaviour.{key} is missing")
    floors = cfg["min_must_pass"]
    if isinstance(floors, Mapping):
        missing = [label for label in LABELS if label not in floors]
        if missing:
            raise ValueError(f"gate.behaviour.min_must_pass has no floor for {', '.join(missing)}")
        values: Sequence = list(floors.values())
    else:
        values = [floors]
    for key in ("max_invariance_flip", "max_wrong_direction"):
        values = [*values, cfg[key]]
    if any(not 0 <= float(v) <= 1 for v in values):
        raise ValueError("gate.behaviour rates and floors must lie in 0..1")
