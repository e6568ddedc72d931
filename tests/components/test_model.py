"""The model wrapper: batched label scoring, prefix reuse, padding independence, answers."""
import numpy as np
import pytest

from components.model import ChatModel, label_token_ids

TEXTS = ["오늘 방송 몇 시까지 해요?", "시발 꺼져", "무료 코인 받기 bit.ly/abc12", "ㅋㅋ",
         "와 방금 그거 대박 진짜 미쳤다 컨트롤 보소 오늘 폼 최고네요 " * 3]


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return ChatModel.load(tiny_model_dir)


def test_prefix_reuse_gives_the_same_probabilities(model):
    full = model.lm_probs(TEXTS, reuse_prefix=False)
    cached = model.lm_probs(TEXTS, reuse_prefix=True)
    np.testing.assert_allclose(cached, full, atol=1e-4)
    np.testing.assert_allclose(full.sum(1), 1.0, atol=1e-5)


def test_scores_do_not_depend_on_batch_company(model):
    """Left/right padding and positions are handled: alone or in a batch, same scores."""
    together = model.lm_probs(TEXTS)
    alone = np.vstack([model.lm_probs([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_label_tokens_are_distinct_single_tokens(model):
    ids = label_token_ids(model.tokenizer)
    assert len(set(ids)) == 4 and ids == model.meta["label_token_ids"]


def test_answer_is_a_short_string(model):
    answer = model.answer("방송 몇 시에 해요?", card="스트리머 하루, 방송 시간 매일 저녁 8시", max_new_tokens=8)
    assert isinstance(answer, str) and "<end_of_turn>" not in answer


def test_inference_patches_keep_the_numbers_and_the_answers(tiny_model_dir):
    """fuse_norms and flat_output_layer (applied by ChatModel.load) change speed, not values:
    same label probabilities and same greedy answers as the model without them."""
    import torch
    plain = ChatModel.load(tiny_model_dir, dtype="float32")
    patched = ChatModel.load(tiny_model_dir, dtype="float32")
    assert "forward" in vars(patched.model.lm_head)
    for module in plain.model.modules():          # undo the patches on one copy
        module.__dict__.pop("forward", None)
    hidden = torch.randn(1, 7, plain.model.config.hidden_size)[:, -1:, :]   # a sliced position
    with torch.inference_mode():
        np.testing.assert_allclose(patched.model.lm_head(hidden), plain.model.lm_head(hidden),
                                   atol=1e-5)
    np.testing.assert_allclose(patched.lm_probs(TEXTS), plain.lm_probs(TEXTS), atol=1e-5)
    question = ("방송 몇 시에 해요?", "스트리머 하루, 방송 시간 매일 저녁 8시")
    assert patched.answer(*question, max_new_tokens=8) == plain.answer(*question, max_new_tokens=8)


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a chatloop model directory"):
        ChatModel.load(tmp_path)


def test_the_screen_decides_what_it_is_sure_of_and_is_blended_into_the_rest(model):
    cfg = model.meta["screen"]
    assert cfg["confidence"] == 0.9 and cfg["weight"] == 0.2 and cfg["rows"] > 0
    texts = TEXTS + ["바 카 라 꽁 머 니 카/지/노 가/입", "하루님 MBTI 뭐예요?", "메이플 개꿀잼ㅠㅠ"]
    screened = model.screen.probs([model.prepare(t) for t in texts])
    sure = screened.max(1) >= cfg["confidence"]
    assert sure.any() and not sure.all()     # the sample model's screen: both kinds here
    before = dict(model.counts)
    got = model.label_probs(texts)
    assert model.counts["screen"] - before["screen"] == sure.sum()
    assert model.counts["lm"] - before["lm"] == (~sure).sum()
    np.testing.assert_allclose(got[sure], screened[sure], atol=1e-6)
    lm = model.lm_probs([t for t, s in zip(texts, sure) if not s])
    np.testing.assert_allclose(got[~sure], 0.8 * lm + 0.2 * screened[~sure], atol=1e-5)



def test_a_deadline_leaves_the_late_messages_to_the_screen(model, monkeypatch):
    import time
    texts = TEXTS + ["바 카 라 꽁 머 니 카/지/노 가/입", "하루님 MBTI 뭐예요?", "메이플 개꿀잼ㅠㅠ"]
    monkeypatch.setitem(model.meta["screen"], "confidence", 0.99)   # more rows for the LM
    screened = model.screen.probs([model.prepare(t) for t in texts])
    sure = screened.max(1) >= model.meta["screen"]["confidence"]
    unhurried, by = model.score(texts, batch_size=2, deadlines=[time.perf_counter() + 600] * len(texts))
    np.testing.assert_allclose(unhurried, model.label_probs(texts), atol=1e-6)
    assert by == ["screen" if s else "lm" for s in sure]

    lm_calls = []
    real = model.lm_probs
    monkeypatch.setattr(model, "lm_probs", lambda t, *a, **k: lm_calls.append(list(t)) or real(t, *a, **k))
    before = dict(model.counts)
    now = time.perf_counter()
    # The shortest unsure message is still in time; the others were due already.
    unsure = [i for i in range(len(texts)) if not sure[i]]
    assert len(unsure) >= 2
    in_time = sorted(unsure, key=lambda i: len(texts[i]))[:1]
    deadlines = [now + 600 if i in in_time else now - 1 for i in range(len(texts))]
    got, by = model.score(texts, batch_size=2, deadlines=deadlines)
    assert lm_calls == [[texts[i] for i in in_time]]      # the late ones never asked
    assert by == ["screen" if s else "lm" if i in in_time else "late" for i, s in enumerate(sure)]
    late = [b == "late" for b in by]
    np.testing.assert_allclose(got[late], screened[late], atol=1e-6)
    np.testing.assert_allclose(got[~np.array(late)], unhurried[~np.array(late)], atol=1e-5)
    assert model.counts["late"] - before["late"] == sum(late) > 0
    with pytest.raises(ValueError, match="2 deadlines for 8 texts"):
        model.score(texts, deadlines=[now, now])


def _copy(tiny_model_dir, tmp_path):
    import shutil
    return shutil.copytree(tiny_model_dir, tmp_path / "copy")


def test_a_model_without_a_screen_is_the_lm_alone(tiny_model_dir, tmp_path, model):
    import json
    from components.model import META_FILE
    path = _copy(tiny_model_dir, tmp_path)
    meta = json.loads((path / META_FILE).read_text())
    meta["screen"] = None                  # as trained with model.screen.enabled: false
    (path / META_FILE).write_text(json.dumps(meta))
    (path / "screen.npz").unlink()
    plain = ChatModel.load(path)
    assert plain.screen is None
    np.testing.assert_allclose(plain.label_probs(TEXTS), model.lm_probs(TEXTS), atol=1e-5)


def test_a_missing_screen_file_is_a_clear_error(tiny_model_dir, tmp_path):
    from components.screen import ScreenError
    path = _copy(tiny_model_dir, tmp_path)
    (path / "screen.npz").unlink()
    with pytest.raises(ScreenError, match="screen.npz is missing"):
        ChatModel.load(path)
