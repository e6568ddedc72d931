"""The one label/prompt module: mappings, priority, prompt identity."""
import pytest

from components import labels


def test_dataset_mappings_cover_the_shared_datasets():
    assert labels.map_label("curse-detection", "1") == "toxic"
    assert labels.map_label("curse-detection", 0) == "normal"
    assert labels.map_label("korean-hate-speech", "offensive") == "toxic"
    assert labels.map_label("korean-hate-speech", "none") == "normal"
    assert labels.map_label("3i4k", "2") == "question"
    assert labels.map_label("3i4k", "4") == "normal"  # rhetorical questions are not for the bot


def test_unknown_values_are_errors_that_name_the_set():
    with pytest.raises(labels.LabelError, match="unknown raw label"):
        labels.map_label("3i4k", "9")
    with pytest.raises(labels.LabelError, match="no label mapping"):
        labels.map_label("nope", "1")
    with pytest.raises(labels.LabelError, match="normal, question, toxic, spam"):
        labels.check_label("Spam")


def test_priority_spam_over_toxic_over_question_over_normal():
    assert labels.resolve(["normal", "question"]) == "question"
    assert labels.resolve(["question", "toxic"]) == "toxic"
    assert labels.resolve(["toxic", "spam", "normal"]) == "spam"
    with pytest.raises(labels.LabelError):
        labels.resolve([])


def test_normalize_folds_spaces_and_control_characters():
    assert labels.normalize_text("  안녕\u200b하세요\t\n ㅋㅋ ") == "안녕 하세요 ㅋㅋ"
    assert labels.normalize_text("\u1100\u1161") == "가"  # NFC


def test_prompt_is_the_same_text_for_training_and_serving(tiny_model_dir):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tiny_model_dir / "adapter")
    prompt = labels.render_prompt(tok, labels.classify_messages("방송  몇 시?"))
    assert prompt.startswith("<bos><start_of_turn>user\n")
    assert prompt.endswith("<start_of_turn>model\n")
    assert "메시지: 방송 몇 시?" in prompt
    full = tok.apply_chat_template(labels.classify_messages("방송  몇 시?") + labels.completion("question"),
                                   tokenize=False)
    assert full.startswith(prompt) and full[len(prompt):].startswith("question<end_of_turn>")


def test_decide_needs_min_flag_for_toxic_and_spam():
    from components.labels import decide
    probs = {"normal": 0.3, "question": 0.05, "toxic": 0.55, "spam": 0.1}
    assert decide(probs) == "toxic"
    assert decide(probs, {"toxic": 0.6, "spam": 0.5}) == "normal"
    assert decide([0.3, 0.05, 0.55, 0.1], {"toxic": 0.5}) == "toxic"       # LABELS order
    assert decide({"normal": 0.2, "question": 0.3, "toxic": 0.45, "spam": 0.05},
                  {"toxic": 0.6}) == "question"
    # ties follow PRIORITY (spam before toxic) when both pass their floors
    assert decide({"normal": 0.0, "question": 0.0, "toxic": 0.5, "spam": 0.5}) == "spam"


def test_a_floor_below_one_half_flags_a_label_that_is_not_the_most_likely():
    from components.labels import decide
    lure = {"normal": 0.7, "question": 0.0, "toxic": 0.05, "spam": 0.25}
    assert decide(lure, {"toxic": 0.6, "spam": 0.5}) == "normal"
    assert decide(lure, {"toxic": 0.6, "spam": 0.2}) == "spam"
    assert decide(lure, {"toxic": 0.6, "spam": 0.3}) == "normal"
    both = {"normal": 0.45, "question": 0.0, "toxic": 0.3, "spam": 0.25}
    assert decide(both, {"toxic": 0.2, "spam": 0.2}) == "toxic"       # the likelier of the two
    assert decide(both, {"toxic": 0.5, "spam": 0.2}) == "spam"
    assert decide([0.1, 0.5, 0.0, 0.4], {"toxic": 0.6, "spam": 0.5}) == "question"


def test_rules_combine_applies_the_models_min_flag():
    from serving.rules import Evidence, combine
    probs = {"normal": 0.4, "question": 0.0, "toxic": 0.58, "spam": 0.02}
    assert combine(probs, Evidence("x"))[0] == "toxic"
    assert combine(probs, Evidence("x"), {"toxic": 0.6})[0] == "normal"
    ev = Evidence("x", toxic={"evasion": 0.6})          # evidence lifts it over the floor
    assert combine(probs, ev, {"toxic": 0.6})[0] == "toxic"


def test_rules_weights_keep_their_meaning_under_a_calibrated_low_spam_floor():
    from serving.rules import Evidence, combine
    chat = {"normal": 0.9, "question": 0.05, "toxic": 0.0, "spam": 0.05}   # `슬롯 하나 남았다`
    word = Evidence("x", spam={"spam_word": 0.3})
    floors = {"toxic": 0.7, "spam": 0.15}
    label, out = combine(chat, word, floors)
    assert out["spam"] > 0.15 and label == "normal"     # a spam word alone flags nothing
    assert combine(chat, Evidence("x", spam={"link": 0.6}), floors)[0] == "spam"
    lure = {"normal": 0.75, "question": 0.0, "toxic": 0.0, "spam": 0.25}   # the model's own call
    assert combine(lure, Evidence("x"), floors)[0] == "spam"
    assert combine(lure, word, floors)[0] == "spam"
    assert combine(lure, Evidence("x"), {"toxic": 0.7, "spam": 0.5})[0] == "normal"
