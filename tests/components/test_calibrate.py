"""The operating point: the toxic floor chosen on held-out normal chat."""
import json
import shutil

import numpy as np
import pytest

from components.calibrate import (calibrate, choose_floors, choose_spam_floor, choose_toxic_floor,
                                  flagged_share)

# columns: normal, question, toxic, spam
ROWS = np.array([[0.9, 0.0, 0.1, 0.0],     # normal
                 [0.35, 0.0, 0.65, 0.0],   # toxic at floors up to 0.65
                 [0.25, 0.0, 0.75, 0.0],   # toxic at floors up to 0.75
                 [0.2, 0.0, 0.0, 0.8]])    # spam whatever the toxic floor


def test_the_lowest_toxic_floor_that_meets_the_target_is_chosen():
    floors = {"toxic": 0.6, "spam": 0.5}
    assert flagged_share(ROWS, floors) == 0.75
    got = choose_toxic_floor(ROWS, floors, max_flagged=0.5, max_toxic=0.9)
    assert got["min_flag"] == {"toxic": 0.66, "spam": 0.5} and got["reached"]
    assert got["normal_flagged"] == 0.5
    assert choose_toxic_floor(ROWS, floors, 0.75, 0.9)["min_flag"]["toxic"] == 0.6  # never lowered


def test_an_unreachable_target_stops_at_max_toxic_and_says_so():
    got = choose_toxic_floor(ROWS, {"toxic": 0.6, "spam": 0.5}, max_flagged=0.1, max_toxic=0.8)
    assert got["min_flag"]["toxic"] == 0.8 and not got["reached"]
    assert got["normal_flagged"] == 0.25    # the spam row stays flagged


def test_calibrate_records_the_floor_the_model_then_uses(tiny_model_dir, fast_params, tmp_path):
    from components.model import ChatModel
    from components.train import calibrate as train_calibrate
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    rows = [{"text": t, "label": "normal", "source": "chat"}
            for t in ("안녕하세요", "오늘 방송 재밌네요", "ㅋㅋㅋㅋ", "밥 먹었어요?", "굿굿")]
    rows.append({"text": "광고 아님", "label": "spam", "source": "chat"})   # not a normal row
    params = json.loads(json.dumps(fast_params))
    params["model"]["calibrate"] = {"max_normal_flagged": 0.0, "max_toxic": 1.0,
                                    "max_normal_spam": 0.0, "min_spam": 1.0}   # spam floor kept
    params["model"]["min_flag"] = {"toxic": 0.0, "spam": 1.0}
    data = tmp_path / "data"
    data.mkdir()
    (data / "calibration.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    got = train_calibrate(data, model_dir, params)     # the train step's last part
    assert got["rows"] == 5 and got["given"] == {"toxic": 0.0, "spam": 1.0}
    meta = json.loads((model_dir / "chatloop.json").read_text())
    assert meta["min_flag"] == got["min_flag"] and meta["calibration"]["target"] == 0.0
    model = ChatModel.load(model_dir)
    probs = model.label_probs([r["text"] for r in rows[:5]])
    assert flagged_share(probs, model.min_flag) == got["normal_flagged"]
    if got["reached"]:
        assert got["normal_flagged"] == 0.0
    params["model"]["calibrate"]["max_normal_flagged"] = 1.0
    assert calibrate(model_dir, rows, params) is None                 # off
    assert calibrate(model_dir, rows[5:], {**params, "model": {**params["model"], "calibrate": {
        **params["model"]["calibrate"], "max_normal_flagged": 0.1}}}) is None   # no normal rows


# normal messages that the model finds 5%, 30%, 20% and 60% likely to be spam
SPAMMY = np.array([[0.95, 0.0, 0.0, 0.05], [0.7, 0.0, 0.0, 0.3], [0.8, 0.0, 0.0, 0.2],
                   [0.4, 0.0, 0.0, 0.6]])


def test_the_spam_floor_is_lowered_as_far_as_its_budget_allows():
    given = {"toxic": 0.6, "spam": 0.5}
    assert flagged_share(SPAMMY, given, ("spam",)) == 0.25
    got = choose_spam_floor(SPAMMY, given, max_spam=0.5, min_spam=0.1)
    assert got == {"min_flag": {"toxic": 0.6, "spam": 0.21}, "normal_spam": 0.5}  # 0.2 would be 3 of 4
    assert choose_spam_floor(SPAMMY, given, 1.0, min_spam=0.4)["min_flag"]["spam"] == 0.4
    kept = choose_spam_floor(SPAMMY, given, max_spam=0.1, min_spam=0.1)    # never raised
    assert kept == {"min_flag": given, "normal_spam": 0.25}
    assert choose_spam_floor(SPAMMY, given, 1.0, min_spam=0.5)["min_flag"] == given   # off


def test_the_toxic_floor_is_chosen_after_the_spam_floor_for_the_total():
    rows = np.vstack([ROWS, SPAMMY[1:2]])        # + a normal message 30% spam
    cfg = {"max_normal_spam": 0.4, "min_spam": 0.25, "max_normal_flagged": 0.4, "max_toxic": 0.9}
    got = choose_floors(rows, {"toxic": 0.6, "spam": 0.5}, cfg)
    # spam: 2 of 5 at 0.3 (the budget); then toxic must flag none of the rest: above 0.75
    assert got["min_flag"] == {"toxic": 0.76, "spam": 0.25} and got["reached"]
    assert got["normal_spam"] == 0.4 and got["normal_flagged"] == 0.4


def test_max_toxic_below_the_given_floor_is_refused():
    from components.config import load_params
    from components.config import ParamsError
    with pytest.raises(ParamsError, match="max_toxic"):
        load_params(overrides=["model.calibrate.max_toxic=0.5", "model.min_flag.toxic=0.6"])


def test_min_spam_above_the_given_spam_floor_is_refused():
    from components.config import load_params
    from components.config import ParamsError
    with pytest.raises(ParamsError, match="min_spam"):
        load_params(overrides=["model.calibrate.min_spam=0.6", "model.min_flag.spam=0.5"])
