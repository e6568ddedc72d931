"""The screen (components/screen.py): sklearn's numbers, a pickle-free round trip, the cascade."""
import json
from pathlib import Path

import numpy as np
import pytest

from components import jsonl
from components.labels import LABELS, message_body
from components.screen import FILE, Screen, ScreenError, combine

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows():
    return jsonl.load(ROOT / "data/sample/chat.jsonl")


@pytest.fixture(scope="module")
def screen(rows):
    return Screen.fit([r["text"] for r in rows], [r["label"] for r in rows], 50_000, 10.0, 13)


def test_probs_are_sklearns(rows):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    texts, labels = [r["text"] for r in rows], [r["label"] for r in rows]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, max_features=50_000)
    x = vec.fit_transform([message_body(t) for t in texts])
    clf = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced", random_state=13).fit(x, labels)
    probe = ["방송 몇 시까지 해요?", "카톡 ex1234 추가하면 무료 리딩방", "ㅋㅋㅋㅋ 개웃기네", "씨발 꺼져"]
    expected = clf.predict_proba(vec.transform([message_body(t) for t in probe]))
    expected = expected[:, [list(clf.classes_).index(lb) for lb in LABELS]]
    got = Screen.fit(texts, labels, 50_000, 10.0, 13).probs(probe)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert got.argmax(1).tolist() == [1, 3, 0, 2]


def test_two_labels_fill_the_other_columns_with_zero():
    texts = ["안녕하세요", "반가워요", "좋은 아침", "몇 시에 해요?", "뭐 먹어요?", "언제 와요?"]
    screen = Screen.fit(texts, ["normal"] * 3 + ["question"] * 3, 1000, 10.0, 13)
    probs = screen.probs(["오늘 뭐 해요?", "안녕"])
    assert probs[:, 2:].max() < 1e-9 and np.allclose(probs.sum(1), 1)
    assert probs.argmax(1).tolist() == [1, 0]


def test_round_trip_without_pickle(tmp_path, screen):
    path = screen.save(tmp_path)
    assert path.name == FILE
    with np.load(path, allow_pickle=False) as parts:   # plain arrays only
        assert set(parts.files) == {"ngrams", "idf", "coef", "intercept"}
    probe = ["오늘 방송 재밌다", "텔레 ex_99 DM 주세요"]
    np.testing.assert_array_equal(Screen.load(tmp_path).probs(probe), screen.probs(probe))


def test_bad_files_are_named(tmp_path, screen):
    with pytest.raises(ScreenError, match="screen.npz is missing"):
        Screen.load(tmp_path)
    screen.save(tmp_path)
    with np.load(tmp_path / FILE) as parts:
        kept = {k: parts[k] for k in parts.files if k != "idf"}
    np.savez(tmp_path / FILE, **kept)
    with pytest.raises(ScreenError, match="not a chatloop screen"):
        Screen.load(tmp_path)
    np.savez(tmp_path / FILE, **kept, idf=np.ones(3))
    with pytest.raises(ScreenError, match="do not fit"):
        Screen.load(tmp_path)


def test_combine_skips_the_lm_for_sure_rows():
    screen = np.array([[0.95, 0.05, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0.1, 0.9]], dtype=np.float32)
    asked = []

    def lm(rows):
        asked.append(rows.tolist())
        return np.tile(np.array([0, 0, 1, 0], dtype=np.float32), (len(rows), 1))
    out, used = combine(screen, lm, 0.9, 0.25)
    assert asked == [[1]] and used.tolist() == [False, True, False]
    np.testing.assert_allclose(out[1], [0.125, 0.125, 0.75, 0])
    np.testing.assert_allclose(out[[0, 2]], screen[[0, 2]])
    out, used = combine(screen, lm, 1.01, 0.0)    # never sure: the LM alone
    assert used.all() and np.allclose(out, [[0, 0, 1, 0]] * 3)



def test_combine_keeps_the_screens_rows_the_lm_left_unscored():
    screen = np.array([[0.5, 0.5, 0, 0], [0.4, 0.6, 0, 0], [0, 0, 0.1, 0.9]], dtype=np.float32)

    def lm(rows):       # out of time for the second row
        out = np.tile(np.array([0, 0, 1, 0], dtype=np.float32), (len(rows), 1))
        out[1] = np.nan
        return out
    out, used = combine(screen, lm, 0.95, 0.25)
    assert used.tolist() == [True, False, True]
    np.testing.assert_allclose(out[1], screen[1])
    np.testing.assert_allclose(out[0], [0.125, 0.125, 0.75, 0])
    assert not np.isnan(out).any()


def test_fit_refuses_bad_rows():
    with pytest.raises(ValueError, match="one length"):
        Screen.fit(["a", "b"], ["normal"], 10, 1.0, 1)
    with pytest.raises(ValueError, match="unknown label 'spamm'"):
        Screen.fit(["a", "b"], ["normal", "spamm"], 10, 1.0, 1)


@pytest.mark.parametrize("extra, added", [("0", 0), ("5", 20), ("{a: 5}", 10),
                                          ("{b: 3, '*': 5}", 16), ("{a: 0, '*': 2}", 4)])
def test_the_screen_adds_capped_rows_the_caps_left_out(tmp_path, rows, extra, added):
    """One cap for every source, or per source ("*" the others; 0 or missing = none)."""
    from components.config import load_params
    from components.ingest import SCREEN_EXTRA_FILE
    from components.train import train_screen
    left = [{"text": f"남은 {label} {i}", "label": label, "source": source}
            for source in ("a", "b") for label in ("normal", "toxic") for i in range(9)]
    jsonl.write_atomic(tmp_path / SCREEN_EXTRA_FILE, left)
    params = load_params(overrides=[f"model.screen.extra_per_source_label={extra}"])
    entry = train_screen(params, rows[:40], tmp_path, str.strip, tmp_path)
    assert entry["rows"] == 40 + added          # two sources x two labels, 9 rows each
    assert Screen.load(tmp_path).probs(["남은 toxic 3"]).shape == (1, len(LABELS))
    params = load_params(overrides=["model.screen.enabled=false"])
    assert train_screen(params, rows[:40], tmp_path, str.strip, tmp_path) is None


@pytest.fixture(scope="module")
def bench_split(tmp_path_factory):
    """A capped ingest of the sample with calibration rows and a golden set (half the test
    split: held out like it), as the benches read a pipeline's ingest output."""
    from components.ingest import ingest
    split = tmp_path_factory.mktemp("bench") / "split"
    summary = ingest(["data/sample"], split, test_size=0.2, seed=13, max_train_per_source_label=20,
                     calibration_per_source=10)
    assert summary["screen_extra"] > 5
    test = jsonl.load(split / "test.jsonl")
    jsonl.write_atomic(split / "golden.jsonl", test[: len(test) // 2])
    return split


def load_bench(name: str):
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"{name}_bench", ROOT / "bench" / f"{name}.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_screen_bench_compares_settings_on_one_lm(tiny_model_dir, bench_split, capsys):
    """bench/screen.py: one block per setting, the extra rows added to the screen's, the floor
    chosen on the calibration rows, TF-IDF-all's delta beside each source."""
    import re
    assert load_bench("screen").main([
        "--model", str(tiny_model_dir), "--split", str(bench_split), "--profile", "tiny",
        "--extra", "0", "5", "--confidence", "0.9", "1.01", "--raw", "data/sample"]) == 0
    out = capsys.readouterr().out
    blocks = re.findall(r"^extra (\d+) per \(source, label\): screen on (\d+) rows .*confidence "
                        r"([\d.]+), weight 0.2; spam floor [\d.]+, toxic floor ([\d.]+) \(([\d.]+)% of (\d+) calibration rows\)$",
                        out, re.M)
    assert [(b[0], b[2]) for b in blocks] == [("0", "0.9"), ("0", "1.01"), ("5", "0.9"), ("5", "1.01")]
    assert int(blocks[0][1]) < int(blocks[2][1]) and blocks[0][1] == blocks[1][1]
    assert all(b[5] == blocks[0][5] and int(b[5]) > 0 for b in blocks)
    for name in ("test split", "golden set"):
        assert len(re.findall(rf"^  {name}: .*\([+-]\d\.\d{{3}}\)", out, re.M)) == 4, out
    assert len(re.findall(r"spam recall [\d.]+ / [\d.]+;", out)) == 4     # the bot's on golden
    # a confidence above 1 sends every message to the LM
    shares = re.findall(r"LM share ([\d.]+)%", out)
    assert len(shares) == 8 and {float(shares[i]) for i in (2, 3, 6, 7)} == {100.0}
    assert float(shares[0]) < 100.0


def test_tfidf_all_at_the_models_flag_rate_raises_only_its_toxic_floor():
    """bench/real_chat.py's matched comparison: the lowest toxic floor at which TF-IDF-all
    flags no more of the normal rows than the target; spam keeps its floor."""
    at_flag_rate = load_bench("real_chat").at_flag_rate
    row = lambda toxic, spam=0.0: [1 - toxic - spam, 0.0, toxic, spam]  # noqa: E731  LABELS order
    assert LABELS == ("normal", "question", "toxic", "spam")
    rows = [{"label": "normal"}] * 4 + [{"label": "toxic"}, {"label": "normal"}]
    probs = np.array([row(0.9), row(0.8), row(0.6), row(0.4), row(0.95), row(0.0, 0.55)])
    labels, chosen = at_flag_rate(rows, probs, 0.4, spam_floor=0.5)
    # 5 normal rows: 0.9, 0.8 and 0.6 flagged toxic at any floor up to 0.6, the 0.55 spam at
    # floor 0.5 always: 2 of 5 (0.4) needs toxic >= 0.81
    assert chosen["min_flag"] == {"toxic": 0.81, "spam": 0.5} and chosen["reached"]
    assert labels == ["toxic", "normal", "normal", "normal", "toxic", "spam"]
    labels, chosen = at_flag_rate(rows, probs, 0.1, spam_floor=0.5)   # the spam row alone is 0.2
    assert not chosen["reached"] and labels[-1] == "spam"


def test_real_chat_bench_compares_at_both_operating_points(tiny_model_dir, bench_split, capsys):
    """bench/real_chat.py: per-source macro-F1 against TF-IDF-all as it decides, then with
    TF-IDF-all flagging no more normal messages than the model, on both held-out sets."""
    import re
    assert load_bench("real_chat").main(["--model", str(tiny_model_dir), "--split", str(bench_split),
                                         "--profile", "tiny", "--raw", "data/sample"]) == 0
    out = capsys.readouterr().out
    test, golden = (len(jsonl.load(bench_split / f)) for f in ("test.jsonl", "golden.jsonl"))
    assert f"\nheld-out test split ({test} rows)" in out and f"\ngolden set ({golden} rows)" in out
    matched = re.findall(r"^(held-out test split|golden set), TF-IDF-all at toxic floor ([\d.]+)"
                         r"( \(the model's rate not reached\))? \((\d+) rows\) ", out, re.M)
    assert [(m[0], int(m[3])) for m in matched] == [("held-out test split", test), ("golden set", golden)]
    shares = re.findall(r"normal flagged toxic/spam: model +([\d.]+) +tfidf-all +([\d.]+)", out)
    for (model, base), (_, _, missed, _) in zip(shares[-2:], matched):   # the matched blocks
        assert missed or float(base) <= float(model)
