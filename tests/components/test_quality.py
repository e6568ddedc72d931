"""Quality levers (issue 5): per-(source, label) cap, class balancing, shared evasion
normalisation, tiny-base pre-training, and the moderation figures evaluate reports."""
import json
import shutil

import numpy as np
import pytest

from components.evaluate import flag_rates, unseen_spam_hits, versus_baseline
from components.ingest import IngestError, ingest
from components.model import META_FILE, ChatModel, text_normalizer
from components.jsonl import load as read_jsonl
from components.train import balance_rows


def write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_caps_apply_after_the_split_are_seeded_and_keep_corrections(tmp_path):
    rows = [{"text": f"큰 소스 {i}", "label": "normal", "source": "big"} for i in range(200)]
    rows += [{"text": f"작은 소스 {label} {i}", "label": label, "source": "small"}
             for label in ("normal", "toxic") for i in range(30)]
    src = write(tmp_path / "chat.jsonl", rows)
    feedback = write(tmp_path / "fb.jsonl", [{"text": "새 정정", "label": "spam"}])

    def split(name, **caps):
        summary = ingest([str(src)], tmp_path / name, feedback=str(feedback), seed=5, **caps)
        return summary, *(read_jsonl(tmp_path / name / f) for f in ("train.jsonl", "test.jsonl"))

    summary, train, test = split("capped", max_train_per_source_label=50, max_test_per_source_label=10)
    count = lambda rows, source: sum(r["source"] == source for r in rows)  # noqa: E731
    assert (count(train, "big"), count(test, "big")) == (50, 10)      # 160 / 40 before the caps
    assert (count(train, "small"), count(test, "small")) == (48, 12)  # under the caps: all kept
    assert count(train, "feedback") == 1 and count(test, "feedback") == 0
    assert summary["sources"] == {"big": 60, "small": 60, "feedback": 1}
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    _, again_train, again_test = split("again", max_train_per_source_label=50, max_test_per_source_label=10)
    assert (again_train, again_test) == (train, test)
    # The training cap (a time budget) never moves the test split, and draws from the uncapped one.
    _, all_train, all_test = split("train_uncapped", max_test_per_source_label=10)
    assert all_test == test
    assert {r["text"] for r in train} < {r["text"] for r in all_train}
    uncapped, _, _ = split("uncapped")
    assert uncapped["sources"] == {"big": 200, "small": 60, "feedback": 1}
    # A cap per source ("*": every other source); the other sources' rows do not move.
    _, per_source, per_source_test = split("per_source", max_train_per_source_label={"*": 50, "small": 10},
                                           max_test_per_source_label=10)
    assert (count(per_source, "big"), count(per_source, "small")) == (50, 20)
    assert [r for r in per_source if r["source"] == "big"] == [r for r in train if r["source"] == "big"]
    assert per_source_test == test
    with pytest.raises(IngestError, match="cap for source 'small' must be a whole number >= 0, got -1"):
        split("bad", max_train_per_source_label={"small": -1})
    assert not (tmp_path / "bad" / "train.jsonl").exists()


def test_quality_bench_summarises_several_splits(tiny_model_dir, tmp_path, capsys):
    """bench/quality.py --seeds: one report per split and a summary with a delta per split;
    one model for several splits is refused (it has trained on part of their test rows)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "bench" / "quality.py"
    spec = importlib.util.spec_from_file_location("quality_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for seed in (3, 4):
        shutil.copytree(tiny_model_dir, tmp_path / f"m{seed}")
    sample = str(path.parents[1] / "data" / "sample")
    assert bench.main(["--model", str(tmp_path / "m{seed}"), "--seeds", "3,4", "--data", sample,
                       "--profile", "tiny", "--set", "data.feedback="]) == 0
    out = capsys.readouterr().out
    assert "== split data.seed=3 ==" in out and "== split data.seed=4 ==" in out
    summary = {line.split("  ")[0]: line.split()[-5:] for line in
               out[out.index("== 2 splits (data.seed 3, 4)"):].splitlines()[2:]}
    assert {"all (4 labels)", "spam_recall_unseen", "normal_flagged_rate"} <= set(summary)
    model, tfidf, *deltas, mean = summary["all (4 labels)"]      # mean±sd, 2 deltas, their mean
    assert "±" in model and "±" in tfidf
    assert abs(float(deltas[0]) + float(deltas[1]) - 2 * float(mean)) < 2e-3
    with pytest.raises(SystemExit):
        bench.main(["--model", str(tmp_path / "m3"), "--seeds", "3,4", "--data", sample])
    assert "must be a pattern holding {seed}" in capsys.readouterr().err


def test_balance_oversamples_minority_labels():
    chat = [{"text": f"n{i}", "label": "normal"} for i in range(100)]
    chat += [{"text": f"s{i}", "label": "spam"} for i in range(10)]
    assert balance_rows(chat, 0, 1) == chat
    out = balance_rows(chat, 0.5, 1)
    counts = {label: sum(r["label"] == label for r in out) for label in ("normal", "spam")}
    assert counts == {"normal": 100, "spam": 50}
    assert {r["text"] for r in out if r["label"] == "spam"} == {f"s{i}" for i in range(10)}


def test_text_normalizer_is_the_serving_one_and_refuses_unknown_names():
    assert text_normalizer("none")("tlqkf ㅋㅋ") == "tlqkf ㅋㅋ"
    assert text_normalizer("evasion")("tlqkf") == "시발"
    assert text_normalizer("evasion")("카 지 노 가입") == "카지노 가입"
    with pytest.raises(ValueError, match="unknown text normalizer 'nfkc'"):
        text_normalizer("nfkc")


def test_model_applies_the_normaliser_recorded_at_training(tiny_model_dir, tmp_path):
    meta = json.loads((tiny_model_dir / META_FILE).read_text())
    copies = {}
    for name in ("none", "evasion"):
        copies[name] = tmp_path / name
        shutil.copytree(tiny_model_dir, copies[name])
        (copies[name] / META_FILE).write_text(json.dumps({**meta, "normalize": name}))
    plain, evasion = ChatModel.load(copies["none"]), ChatModel.load(copies["evasion"])
    np.testing.assert_allclose(evasion.label_probs(["dkssud"]), plain.label_probs(["안녕"]), atol=1e-6)
    assert not np.allclose(plain.label_probs(["dkssud"]), plain.label_probs(["안녕"]))


def test_pretraining_the_tiny_base_lowers_its_loss(tmp_path, fast_params):
    import torch
    from transformers import AutoTokenizer, Gemma2ForCausalLM

    from components.tiny import build_tiny_base, pretrain_tiny_base
    texts = ["오늘 방송 몇 시에 시작해요?", "ㅋㅋㅋ 진짜 웃기다", "이 게임 이름이 뭐예요"] * 40
    cfg = {**fast_params["model"]["tiny"], "vocab_size": 300, "hidden_size": 32,
           "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
           "max_position_embeddings": 128, "pretrain_epochs": 8, "pretrain_lr": 0.01,
           "pretrain_batch_size": 4}
    base = build_tiny_base(texts, tmp_path / "base", cfg)
    tok = AutoTokenizer.from_pretrained(base)
    ids = torch.tensor([tok(texts[0] + "<eos>" + texts[1], add_special_tokens=False)["input_ids"]])

    def loss():
        with torch.no_grad():
            return float(Gemma2ForCausalLM.from_pretrained(base)(input_ids=ids, labels=ids).loss)

    before = loss()
    summary = pretrain_tiny_base(base, texts, cfg)
    assert summary["pretrain_steps"] > 0
    assert loss() < before - 1.0


def test_flag_rates_and_versus_baseline():
    train = [{"label": "spam", "family": "casino"}, {"label": "normal"}]
    test = [{"label": "spam", "family": "casino"}, {"label": "spam", "family": "loan"},
            {"label": "spam", "family": "coin"}, {"label": "normal"}, {"label": "normal"},
            {"label": "normal"}, {"label": "normal"}]
    pred = ["normal", "spam", "normal", "question", "toxic", "normal", "normal"]
    rates = flag_rates(train, test, pred)
    assert rates == {"spam_recall_unseen": 0.5, "spam_unseen_rows": 2, "normal_flagged_rate": 0.25}
    assert unseen_spam_hits(train, test, pred) == {"coin": [False], "loan": [True]}
    m = {"macro_f1": 0.8, "per_label": {"spam": {"f1": 0.9}}, "per_source": {"a": {"macro_f1": 0.7}}}
    b = {"macro_f1": 0.75, "per_label": {"spam": {"f1": 0.95}}, "per_source": {"a": {"macro_f1": 0.6}}}
    table = versus_baseline(m, b)
    assert table["source:a"]["delta"] == pytest.approx(0.1)
    assert table["label:spam"]["delta"] == pytest.approx(-0.05)
    assert table["macro_f1"]["model"] == 0.8


def test_char_tokenizer_never_merges_across_characters_and_round_trips():
    from components.labels import LABELS
    from components.tiny import build_tokenizer
    texts = ["안녕하세요 방송 재밌어요", "카지노 가입 bit.ly/abc", "ㅋㅋㅋ 오늘 몇 시까지 해요?"] * 20
    char, bpe = build_tokenizer(texts, 400, "char"), build_tokenizer(texts, 400, "bpe")
    text = "안녕하세요 카지노 bit.ly"
    pieces = [char.convert_tokens_to_string([t]) for t in char.tokenize(text)]
    assert all(len(piece) == 1 for piece in pieces) and "".join(pieces) == text
    assert len(bpe.tokenize(text)) < len(pieces)            # BPE merged whole words
    assert char.decode(char(text)["input_ids"]) == text
    assert all(len(char.tokenize(label)) == 1 for label in LABELS)  # labels stay one token
    with pytest.raises(ValueError, match="model.tiny.tokenizer must be"):
        build_tokenizer(texts, 400, "word")


def test_cooccurrence_vectors_put_words_of_the_same_contexts_together(tmp_path, fast_params):
    import torch

    from components.labels import LABELS
    from components.tiny import build_tiny_base, build_tokenizer, cooccurrence_vectors
    # 카지노 and 토토 share contexts (gambling ads), 치킨 and 피자 another (food talk)
    texts = [f"{w} {ctx}" for w in ("카지노", "토토") for ctx in
             ("가입하면 첫충 보너스", "첫충 보너스 지급 가입", "보너스 가입 첫충")] * 10
    texts += [f"{w} {ctx}" for w in ("치킨", "피자") for ctx in
              ("오늘 저녁은 맛있는", "맛있는 저녁 오늘은", "저녁 맛있는 오늘")] * 10
    tok = build_tokenizer(texts, 800, "bpe")
    vectors, seen = cooccurrence_vectors(tok, texts, 16, 0.02)

    def vec(word):
        ids = tok(word, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, word
        return vectors[ids[0]]

    def cos(a, b):
        return float(torch.nn.functional.cosine_similarity(vec(a), vec(b), dim=0))

    assert cos("카지노", "토토") > cos("카지노", "치킨") and cos("치킨", "피자") > cos("피자", "토토")
    assert not seen[tok.convert_tokens_to_ids(list(LABELS))].any()   # labels keep random init
    assert float(vectors[seen].std()) == pytest.approx(0.02, rel=1e-3)
    cfg = {**fast_params["model"]["tiny"], "vocab_size": 300, "hidden_size": 16,
           "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8,
           "max_position_embeddings": 64, "init_embeddings": "word2vec"}
    with pytest.raises(ValueError, match="init_embeddings must be"):
        build_tiny_base(texts, tmp_path / "base", cfg)


def ensemble_params(fast_params, members):
    import copy
    params = copy.deepcopy(fast_params)
    params["train"].update(max_steps=12, answer_ratio=0.0, ensemble=members)
    return params


def test_ensemble_members_train_at_once_and_their_probabilities_are_averaged(
        sample_splits, fast_params, tmp_path):
    from components.train import train
    out = tmp_path / "ensemble"
    member_overrides = ["model.tiny.vocab_size=700", "train.length_buckets=4"]  # + bucketed batches
    summary = train(sample_splits, out, ensemble_params(fast_params, [member_overrides]))
    assert summary["members"] == 2 and len(summary["member_summaries"]) == 2
    meta = json.loads((out / META_FILE).read_text())
    assert meta["members"] == ["members/1"] and meta["ensemble"] == [member_overrides]
    assert "members" not in json.loads((out / "members" / "1" / META_FILE).read_text())
    model = ChatModel.load(out)
    member = model.members[0]
    assert len(member.tokenizer) < len(model.tokenizer)         # the override took effect
    texts = [r["text"] for r in read_jsonl(sample_splits / "test.jsonl")][:40]
    own, theirs = model._own_label_probs(texts, 16, True), member._own_label_probs(texts, 16, True)
    assert not np.allclose(own, theirs)
    lm = model.lm_probs(texts, 16)
    np.testing.assert_allclose(lm, (own + theirs) / 2, atol=1e-6)
    assert model.screen is not None and member.screen is None   # one screen, the ensemble's
    cfg = model.meta["screen"]
    screened = model.screen.probs([model.prepare(t) for t in texts])
    sure = screened.max(1) >= cfg["confidence"]
    expected = np.where(sure[:, None], screened, (1 - cfg["weight"]) * lm + cfg["weight"] * screened)
    np.testing.assert_allclose(model.label_probs(texts, 16), expected, atol=1e-6)


def test_bad_ensemble_members_fail_clearly(sample_splits, fast_params, tmp_path):
    from components.train import train
    with pytest.raises(KeyError, match="unknown parameter 'nope'"):
        train(sample_splits, tmp_path / "a", ensemble_params(fast_params, [["model.tiny.nope=1"]]))
    assert not (tmp_path / "a").exists()                          # refused before any training
    with pytest.raises(RuntimeError, match="member 1 exited 1(.|\n)*model.tiny.tokenizer must be"):
        train(sample_splits, tmp_path / "b", ensemble_params(fast_params, [["model.tiny.tokenizer=word"]]))


def test_bucketed_order_groups_lengths_but_keeps_batches_in_random_order():
    import random
    from components.train import bucketed_order
    lengths = [random.Random(i).choice([5, 6, 7, 60, 61, 200]) for i in range(400)]
    orders = [bucketed_order(lengths, 8, 10, random.Random(3)) for _ in range(2)]
    assert orders[0] == orders[1]                                  # seeded
    order = orders[0]
    assert sorted(order) == list(range(400))                       # every example once
    batches = [order[i:i + 8] for i in range(0, 400, 8)]
    padded = sum(8 * max(lengths[i] for i in b) for b in batches)
    plain = [list(range(400))[i:i + 8] for i in range(0, 400, 8)]
    assert padded < 0.6 * sum(8 * max(lengths[i] for i in b) for b in plain)
    # long and short batches alternate at random, unlike a bucket sorted long-to-short
    maxima = [max(lengths[i] for i in b) for b in batches]
    assert maxima != sorted(maxima) and maxima != sorted(maxima, reverse=True)
    assert sum(a < 100 <= b or b < 100 <= a for a, b in zip(maxima, maxima[1:])) > 5
    rng = random.Random(3)
    assert bucketed_order(lengths, 8, 10, rng) != bucketed_order(lengths, 8, 10, rng)  # new per epoch


def test_bucketed_trainer_replaces_the_training_sampler():
    from types import SimpleNamespace
    from datasets import Dataset
    from trl import SFTTrainer
    from components.train import trainer_class as make_trainer_class
    trainer_class = make_trainer_class(8, seed=3)   # one bucket: 8 batches of 4
    assert issubclass(trainer_class, SFTTrainer)
    lengths = [3, 90, 4, 91, 5, 92, 6, 93] * 4
    fake = SimpleNamespace(train_dataset=Dataset.from_dict({"input_ids": [[1] * n for n in lengths]}),
                           args=SimpleNamespace(train_batch_size=4, gradient_accumulation_steps=1))
    sampler = trainer_class._get_train_sampler(fake)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(len(lengths))) and first != second   # new order per epoch
    for order in (first, second):
        for i in range(0, len(order), 4):                     # every batch all short or all long
            assert len({lengths[j] > 50 for j in order[i:i + 4]}) == 1
