"""Answers from the channel card: does the model copy the asked fact, and say so when it can't?

    python bench/answers.py --model PATH_OR_URI [--rows 60] [--markdown OUT.md]

Scores the model's answers (greedy, the serving prompt: card + recent chat + question) on
card questions whose facts and wording were held out of training (components.cardqa,
part="heldout"): fact accuracy (the answer contains the card's value), abstention on
questions the card cannot answer (an unknown fact or a private question: the answer must not
assert a value), readable answers (serving.answers.readable_answer), chrF against the
reference answer; and on the held-out chatbot-data pairs when `--split` gives an ingested
split. The bot's side: the share it sends (serving.answers.unsendable: readable, grounded in
the card or chat and on the question's topic), fact accuracy of what it sends, and the share of
questions where it sends a wrong or made-up value. `--markdown` writes 20 hand-written
viewer questions (data/independent, every fourth line) with the answers under a demo card
(the table in docs/quality.md), marking those the bot withholds and why. Asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from components.cardqa import generate  # noqa: E402
from components.labels import answer_messages  # noqa: E402
from serving.answers import ABSTAIN, readable_answer, unsendable  # noqa: E402

DEMO_CARD = ("스트리머 감자. 매일 밤 9시부터 새벽 1시까지 방송. 주 게임 리그 오브 레전드, 가끔 "
             "마인크래프트. 마이크 슈어 SM7B. 디스코드 서버 있음(구독자 전용).")
DEMO_RECENT = ["ㅋㅋㅋㅋ 방금 개웃기네", "오늘도 화이팅!", "에임 미쳤다"]


def answers(model, rows: list[dict], batch: int = 8, max_new_tokens: int = 40) -> list[str]:
    out = []
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        out += model.generate([answer_messages(r["question"], r.get("card", ""), r.get("recent", ()))
                               for r in chunk], max_new_tokens=max_new_tokens)
    return out


def card_scores(rows: list[dict], hyps: list[str]) -> dict:
    """The model's answers, and what the bot sends of them (serving.answers.unsendable)."""
    import sacrebleu
    factual = [(r, h) for r, h in zip(rows, hyps) if r["fact"]]
    unanswerable = [(r, h) for r, h in zip(rows, hyps) if not r["fact"]]
    abstains = [bool(ABSTAIN.search(h)) for h in hyps]

    def sends(grounded: bool) -> list[bool]:
        return [not unsendable(h, r["question"], r.get("card", ""), r.get("recent", ()), grounded)
                for r, h in zip(rows, hyps)]

    def wrong(sent: list[bool]) -> float:   # a value sent that is not the card's (or made up)
        return sum(ok and not a and (not r["fact"] or r["fact"] not in h)
                   for r, h, ok, a in zip(rows, hyps, sent, abstains)) / max(1, len(rows))
    sent = sends(True)
    sent_factual = [(r, h) for (r, h), ok in zip(zip(rows, hyps), sent) if ok and r["fact"]]
    return {
        "rows": len(rows),
        "fact_accuracy": sum(r["fact"] in h for r, h in factual) / max(1, len(factual)),
        "abstained": sum(a for (r, _), a in zip(zip(rows, hyps), abstains) if not r["fact"])
        / max(1, len(unanswerable)),
        "readable": sum(readable_answer(h) for h in hyps) / max(1, len(hyps)),
        "chrf": sacrebleu.corpus_chrf(hyps, [[r["answer"] for r in rows]]).score,
        # the bot: answers sent to chat
        "sent": sum(sent) / max(1, len(sent)),
        "sent_fact_accuracy": sum(r["fact"] in h for r, h in sent_factual) / max(1, len(sent_factual)),
        "wrong_fact_sent": wrong(sent),
        "wrong_fact_sent_ungrounded": wrong(sends(False)),   # serving.answer.grounded off
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model directory or models:/ URI")
    ap.add_argument("--rows", type=int, default=60, help="held-out card questions to score")
    ap.add_argument("--split", help="an ingested split: also score answers_test.jsonl")
    ap.add_argument("--markdown", help="write the 20 viewer questions and answers here")
    args = ap.parse_args(argv)

    from components.model_registry import load_model
    model, _ = load_model(args.model)
    rows = generate(args.rows, seed=101, part="heldout")
    start = time.perf_counter()
    hyps = answers(model, rows)
    took = time.perf_counter() - start
    scores = card_scores(rows, hyps)
    print(f"held-out card questions ({scores['rows']}, {took / len(rows):.2f} s each):")
    for key in ("fact_accuracy", "abstained", "readable", "chrf", "sent", "sent_fact_accuracy",
                "wrong_fact_sent", "wrong_fact_sent_ungrounded"):
        print(f"  {key:26} {scores[key]:.3f}")
    for r, h in list(zip(rows, hyps))[:8]:
        print(f"  Q {r['question']}  | fact {r['fact'] or '-'}\n    -> {h}")
    if args.split:
        import sacrebleu
        qa = [json.loads(x) for x in (Path(args.split) / "answers_test.jsonl").open()][:args.rows]
        got = answers(model, qa)
        print(f"held-out answers_test ({len(qa)}): chrF "
              f"{sacrebleu.corpus_chrf(got, [[r['answer'] for r in qa]]).score:.1f}")
    if args.markdown:
        questions = [json.loads(x)["text"] for x in
                     (ROOT / "data/independent/questions.jsonl").open()][::4][:20]
        got = answers(model, [{"question": q, "card": DEMO_CARD, "recent": DEMO_RECENT}
                              for q in questions])
        lines = [f"Card: `{DEMO_CARD}`", "", "| question | model answer | bot |", "|---|---|---|"]
        verdicts = [unsendable(a, q, DEMO_CARD, DEMO_RECENT) for q, a in zip(questions, got)]
        lines += [f"| {q} | {a.replace('|', '/')} | {f'withheld ({v})' if v else 'sent'} |"
                  for q, a, v in zip(questions, got, verdicts)]
        Path(args.markdown).write_text("\n".join(lines) + "\n")
        print(f"wrote {args.markdown}")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
