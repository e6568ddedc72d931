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
    full = model.label_probs(TEXTS, reuse_prefix=False)
    cached = model.label_probs(TEXTS, reuse_prefix=True)
    np.testing.assert_allclose(cached, full, atol=1e-4)
    np.testing.assert_allclose(full.sum(1), 1.0, atol=1e-5)


def test_scores_do_not_depend_on_batch_company(model):
    """Left/right padding and positions are handled: alone or in a batch, same scores."""
    together = model.label_probs(TEXTS)
    alone = np.vstack([model.label_probs([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_label_tokens_are_distinct_single_tokens(model):
    ids = label_token_ids(model.tokenizer)
    assert len(set(ids)) == 4 and ids == model.meta["label_token_ids"]


def test_answer_is_a_short_string(model):
    answer = model.answer("방송 몇 시에 해요?", card="스트리머 하루, 방송 시간 매일 저녁 8시", max_new_tokens=8)
    assert isinstance(answer, str) and "<end_of_turn>" not in answer


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a chatloop model directory"):
        ChatModel.load(tmp_path)
