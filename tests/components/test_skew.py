"""No train/serve skew: training, evaluation and serving give the model the same text."""
import pytest

from components.labels import render_prompt
from components.model import ChatModel, text_normalizer
from components.train import build_examples
from serving.message import ChatMessage
from serving.rules import Rules

MESSAGES = ["D M 주 세 요", "tlqkf 진짜 노잼", "ㅋㅋㅋ 개웃기네", "카 지 노 가입 첫충 20%",
            "ｆｕｌｌ　ｗｉｄｔｈ 텍스트", "몇 시까지 방송해요?"]


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return ChatModel.load(tiny_model_dir)


@pytest.mark.parametrize("text", MESSAGES)
def test_training_evaluation_and_serving_prompts_are_identical(model, fast_params, text):
    assert model.meta["normalize"] == fast_params["train"]["normalize"]
    assert model.min_flag == fast_params["model"]["min_flag"]   # the operating point travels too
    prepare = text_normalizer(model.meta["normalize"])
    example = build_examples([{"text": text, "label": "normal"}], [], 0.0, 0, prepare)[0]
    trained = render_prompt(model.tokenizer, example["prompt"])
    evaluated = model.classify_prompt(text)       # evaluate and classify: label_probs(texts)
    rules = Rules(fast_params["serving"]["rules"])
    ev = rules.inspect(ChatMessage("replay", "c", "1", "u", "n", text))
    served = model.classify_prompt(ev.model_text)  # serving.bot.label_batch
    assert trained == evaluated == served


def test_default_params_train_on_the_text_serving_prepares():
    from components.config import load_params
    assert load_params()["train"]["normalize"] == "evasion"
    prepare = text_normalizer("evasion")
    assert prepare("D M 주 세 요") == "DM주세요"
