"""ingest: load a data version, map labels, merge corrections, dedupe, split.

Input rows are JSONL. A chat row is `{"text", "label", "source"?, ...}`; an answer row is
`{"question", "answer", "card"?, "recent"?, "source"?}`. Sources are files or folders, read from the
working tree or, with `rev` (and optionally `repo`), from a DVC/git revision through
`dvc.api.DVCFileSystem`. Feedback corrections override the label of the same text.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Iterator

from chatloop.errors import ChatloopError
from components import jsonl
from components.config import ROOT
from components.labels import LabelError, check_label, normalize_text, resolve
from components.spam import kind_of

CHAT_FILE, TEST_FILE, GOLDEN_FILE = "train.jsonl", "test.jsonl", "golden.jsonl"
CALIBRATION_FILE = "calibration.jsonl"
SCREEN_EXTRA_FILE = "screen_extra.jsonl"   # training-split rows the caps left out (the screen's)
ANSWERS_TRAIN, ANSWERS_TEST = "answers_train.jsonl", "answers_test.jsonl"
VERSION_FILE = "data_version.json"


class IngestError(ChatloopError):
    """Bad input data: the message names the file and line."""


# ------------------------------------------------------------------ reading files
class _Files:
    """Lists and opens JSONL files in the working tree or at a DVC/git revision."""

    def __init__(self, repo: str | None = None, rev: str | None = None):
        self.fs = None
        if repo or rev:
            from dvc.api import DVCFileSystem
            self.fs = DVCFileSystem(repo or str(ROOT), rev=rev)
        self.root = Path(repo) if repo and os.path.isdir(repo) else ROOT

    def list(self, source: str) -> list[str]:
        if self.fs is not None:
            if not self.fs.exists(source):
                raise IngestError(f"data source not found at that revision: {source}")
            if self.fs.isdir(source):
                return sorted(p for p in self.fs.find(source) if p.endswith(".jsonl"))
            return [source]
        path = Path(source) if Path(source).is_absolute() else self.root / source
        if not path.exists():
            raise IngestError(f"data source not found: {path}")
        if path.is_dir():
            return sorted(str(p) for p in path.rglob("*.jsonl"))
        return [str(path)]

    def exists(self, source: str) -> bool:
        if self.fs is not None:
            return self.fs.exists(source)
        return (Path(source) if Path(source).is_absolute() else self.root / source).exists()

    def read_text(self, path: str) -> str | None:
        """A small file's text (e.g. a .dvc pointer), or None when it does not exist."""
        if self.fs is not None:
            return self.fs.read_text(path) if self.fs.exists(path) else None
        full = Path(path) if Path(path).is_absolute() else self.root / path
        return full.read_text(encoding="utf-8") if full.exists() else None

    def lines(self, path: str) -> Iterator[bytes]:
        """The file's lines as bytes (components.jsonl decodes them, naming the line)."""
        if self.fs is not None:
            with self.fs.open(path, "rb") as fh:
                yield from fh
        else:
            with open(path, "rb") as fh:
                yield from fh


def read_rows(files: _Files, sources: Iterable[str], hasher=None) -> Iterator[tuple[str, int, dict]]:
    """Yield (file, line number, row) for every row of every source file; a line that is
    not a UTF-8 JSON object raises IngestError naming file:line."""
    for source in sources:
        for path in files.list(source):
            lines = files.lines(path)
            if hasher is not None:
                lines = (hasher.update(line) or line for line in lines)
            try:
                for lineno, row in jsonl.parse(lines, path):
                    yield path, lineno, row
            except jsonl.JsonlError as exc:
                raise IngestError(str(exc)) from None


def _chat_row(path: str, lineno: int, row: dict) -> dict:
    text = row.get("text")
    if text is not None and not isinstance(text, str):
        raise IngestError(f"{path}:{lineno}: 'text' must be a string")
    try:
        label = check_label(row.get("label"))
    except LabelError as exc:
        raise IngestError(f"{path}:{lineno}: {exc}") from None
    out = {"text": normalize_text(text) if text is not None else None, "label": label,
           "source": str(row.get("source") or Path(path).stem)}
    if row.get("family"):
        out["family"] = str(row["family"])
    return out


# --------------------------------------------------------------------- versioning
def data_version(files: "_Files", sources: Iterable[str], content_sha256: str,
                 rev: str | None) -> dict:
    """Git commit of the data, DVC hashes of the sources' .dvc pointers, and a content hash."""
    import yaml
    dvc_hashes = {}
    for source in sources:
        pointer = files.read_text(source.rstrip("/") + ".dvc")
        if pointer:
            outs = (yaml.safe_load(pointer) or {}).get("outs") or [{}]
            dvc_hashes[source] = outs[0].get("md5")
    try:
        git_rev = subprocess.run(["git", "-C", str(files.root), "rev-parse", rev or "HEAD"],
                                 check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        git_rev = rev or "unknown"
    return {"git_rev": git_rev, "rev": rev, "dvc": dvc_hashes, "content_sha256": content_sha256}


# -------------------------------------------------------------------------- split
def held_out_families(families: list[str], test_size: float, rng: random.Random,
                      holdout: str = "family") -> set[str]:
    """The spam families that go wholly to the test split. `family` (default): within each
    kind (`gambling` for `gambling/2`, see components.spam.kind_of) that has two or more
    families, `test_size` of them, at least one, so every kind is trained on and tested on
    unseen phrasings; kinds with a single family are pooled and split the same way.
    `kind`: whole kinds held out (a stress test: kinds never seen in training)."""
    if holdout not in ("family", "kind"):
        raise ValueError(f"data.spam_holdout must be 'family' or 'kind', got {holdout!r}")
    by_kind: dict[str, list[str]] = defaultdict(list)
    for family in sorted(families):
        by_kind[kind_of(family)].append(family)
    if holdout == "kind":
        groups = [(sorted(by_kind), 2)]                      # (candidates, fewest to split)
    else:
        groups = [(members, 2) for members in by_kind.values() if len(members) >= 2]
        groups.append(([members[0] for members in by_kind.values() if len(members) == 1], 3))
    held: set[str] = set()
    for group, fewest in groups:
        if len(group) < fewest:
            continue
        rng.shuffle(group)
        held.update(group[:max(1, round(len(group) * test_size))])
    if holdout == "kind":
        held = {f for f in families if kind_of(f) in held}
    return held


def stratified_split(rows: list[dict], test_size: float, seed: int,
                     spam_holdout: str = "family") -> tuple[list, list]:
    """Split per label; a label whose rows all carry a spam family (three or more
    families) is split by whole families (held_out_families), so the test split holds
    phrasings never seen in training."""
    rng = random.Random(seed)
    by_label: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_label[row["label"]].append(row)
    train, test = [], []
    for label in sorted(by_label):
        group = by_label[label]
        families = sorted({r.get("family") for r in group if r.get("family")})
        if len(families) >= 3 and all(r.get("family") for r in group):
            held = held_out_families(families, test_size, rng, spam_holdout)
            test += [r for r in group if r["family"] in held]
            train += [r for r in group if r["family"] not in held]
            continue
        rng.shuffle(group)
        n_test = max(1, round(len(group) * test_size)) if len(group) > 1 else 0
        test += group[:n_test]
        train += group[n_test:]
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


Cap = int | dict                     # one cap, or source -> cap ("*": every other source)


def cap_groups(rows: list[dict], max_rows: Cap, seed: int) -> list[dict]:
    """At most `max_rows` rows of each (source, label) group, drawn at random with `seed`,
    in their original order; keeps a big source (3i4k) from drowning the others. `max_rows`
    is one cap for every source, or a mapping source -> cap with "*" for the others;
    0 (or a missing source without "*") = no cap."""
    caps = max_rows if isinstance(max_rows, dict) else {"*": max_rows}
    for source, cap in caps.items():
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
            raise IngestError(f"cap for source {source!r} must be a whole number >= 0, got {cap!r}")
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[row["source"], row["label"]].append(i)
    rng, kept = random.Random(seed), set()
    for key in sorted(groups):
        group, cap = groups[key], caps.get(key[0], caps.get("*", 0))
        kept.update(group if not cap or len(group) <= cap else rng.sample(group, cap))
    return [row for i, row in enumerate(rows) if i in kept]


def set_aside_normal(kept: list[dict], left: list[dict], per_source: int,
                     seed: int) -> tuple[list[dict], list[dict]]:
    """(calibration rows, training rows): up to `per_source` normal messages of each source,
    drawn first from `left` (training-split rows the cap left out), the shortfall from that
    source's `kept` normal rows (at most half of them; those leave training)."""
    if not per_source:
        return [], kept
    rng, out, taken = random.Random(seed), [], set()
    for source in sorted({r["source"] for r in kept + left if r["label"] == "normal"}):
        spare = [r for r in left if r["source"] == source and r["label"] == "normal"]
        own = [r for r in kept if r["source"] == source and r["label"] == "normal"]
        rng.shuffle(spare)
        pick = spare[:per_source]
        if len(pick) < per_source:
            extra = rng.sample(own, min(per_source - len(pick), len(own) // 2))
            taken.update(id(r) for r in extra)
            pick += extra
        out += pick
    return out, [r for r in kept if id(r) not in taken]


# --------------------------------------------------------------------------- main
def ingest(sources: list[str], out_dir: str | os.PathLike, *, feedback: str | None = None,
           golden: str | None = None,
           test_size: float = 0.2, seed: int = 13, max_answers: int = 2000,
           max_train_per_source_label: Cap = 0, max_test_per_source_label: Cap = 0,
           spam_holdout: str = "family", calibration_per_source: int = 0,
           repo: str | None = None, rev: str | None = None) -> dict:
    """Read `sources` (+ `feedback` corrections), dedupe, split, write the splits to `out_dir`.

    The split is drawn from all rows; then `max_train_per_source_label` caps each (source,
    label) group of the training split (bounds training time) and `max_test_per_source_label`
    each group of the test split (bounds evaluation time), 0 = no cap; either may be a
    mapping source -> cap (cap_groups). `calibration_per_source` normal messages of each source
    are set aside from the training split for the operating point (set_aside_normal,
    components.calibrate); the other training-split rows the cap left out go to
    screen_extra.jsonl (the screen may train on them: model.screen.extra_per_source_label).
    Feedback corrections are never dropped. `golden` (a file or folder, e.g. data/golden from
    `chatloop data import`) is the fixed real-chat set the gate scores every candidate on:
    copied to golden.jsonl, and any row with a golden text is dropped from training and
    testing. Returns a summary with counts and the data version; writes train/test chat
    splits, calibration and screen rows, answer splits, golden.jsonl and data_version.json.
    Nothing is written when the input is bad.
    """
    if not sources:
        raise IngestError("no data sources given")
    files = _Files(repo, rev)
    hasher = hashlib.sha256()
    chat: dict[str, list[dict]] = defaultdict(list)
    answers: dict[str, dict] = {}
    for path, lineno, row in read_rows(files, sources, hasher):
        if "answer" in row:
            question, answer = row.get("question"), row.get("answer")
            if not isinstance(question, str) or not isinstance(answer, str) \
                    or not question.strip() or not answer.strip():
                raise IngestError(f"{path}:{lineno}: an answer row needs non-empty "
                                  "'question' and 'answer' strings")
            recent = row.get("recent") or []
            if not isinstance(recent, list) or not all(isinstance(x, str) for x in recent):
                raise IngestError(f"{path}:{lineno}: 'recent' must be a list of strings "
                                  "(the chat lines before the question)")
            key = normalize_text(question) + "\x00" + normalize_text(row.get("card") or "")
            answers.setdefault(key, {"question": normalize_text(question),
                                     "answer": normalize_text(answer),
                                     "card": normalize_text(row.get("card") or ""),
                                     "recent": [normalize_text(x) for x in recent],
                                     "source": str(row.get("source") or Path(path).stem)})
            continue
        parsed = _chat_row(path, lineno, row)
        chat[parsed["text"] if parsed["text"] is not None else f"\x00null{len(chat)}"].append(parsed)

    # One row per text; conflicting labels resolve by priority (spam > toxic > ...).
    merged = []
    for key, group in chat.items():
        row = dict(group[0])
        row["label"] = resolve(r["label"] for r in group)
        merged.append(row)

    corrected = 0
    if feedback and files.exists(feedback):
        index = {row["text"]: row for row in merged}
        for path, lineno, row in read_rows(files, [feedback], hasher):
            fix = _chat_row(path, lineno, row)
            if not fix["text"]:
                raise IngestError(f"{path}:{lineno}: a correction needs a non-empty 'text'")
            if fix["text"] in index:
                index[fix["text"]]["label"] = fix["label"]
                index[fix["text"]]["corrected"] = True
            else:
                fix.update(source="feedback", corrected=True)
                index[fix["text"]] = fix
                merged.append(fix)
            corrected += 1

    golden_rows: list[dict] = []
    if golden:
        if not files.exists(golden):
            raise IngestError(f"golden set not found: {golden} (run `chatloop data import`, "
                              "or set data.golden to '' to gate without one)")
        for path, lineno, row in read_rows(files, [golden], hasher):
            parsed = _chat_row(path, lineno, row)
            if not parsed["text"]:
                raise IngestError(f"{path}:{lineno}: a golden row needs a non-empty 'text'")
            golden_rows.append({**parsed, **({"kind": str(row["kind"])} if row.get("kind") else {})})
        held = {r["text"] for r in golden_rows}
        before = len(merged)
        merged = [r for r in merged if r["text"] not in held]
        golden_dropped = before - len(merged)

    # Moderator corrections are the loop's most valuable signal: never capped, always trained on.
    fixed = [r for r in merged if r.get("corrected")]
    rest = [r for r in merged if not r.get("corrected")]
    train, test = stratified_split(rest, test_size, seed, spam_holdout)
    kept = cap_groups(train, max_train_per_source_label, seed)
    kept_ids = {id(r) for r in kept}
    left = [r for r in train if id(r) not in kept_ids]
    calibration, kept = set_aside_normal(kept, left, calibration_per_source, seed)
    set_aside = {id(r) for r in calibration}
    screen_extra = [r for r in left if id(r) not in set_aside]
    train = kept + fixed
    test = cap_groups(test, max_test_per_source_label, seed)
    merged = train + test
    qa = sorted(answers.values(), key=lambda r: (r["card"], r["question"]))
    random.Random(seed).shuffle(qa)
    n_qa_test = round(len(qa) * test_size) if len(qa) > 4 else 0
    qa_test, qa_train = qa[:n_qa_test], qa[n_qa_test:][:max_answers]

    version = data_version(files, sources + [x for x in (feedback, golden) if x],
                           hasher.hexdigest(), rev)
    summary = {
        "rows": len(merged), "train": len(train), "test": len(test),
        "answers_train": len(qa_train), "answers_test": len(qa_test),
        "calibration": len(calibration), "screen_extra": len(screen_extra),
        "corrections": corrected, "golden": len(golden_rows),
        "golden_overlap_dropped": golden_dropped if golden else 0,
        "labels": dict(Counter(r["label"] for r in merged)),
        "sources": dict(Counter(r["source"] for r in merged)),
        "data_version": version,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl.write_atomic(out / CHAT_FILE, train)
    jsonl.write_atomic(out / TEST_FILE, test)
    jsonl.write_atomic(out / CALIBRATION_FILE, calibration)
    jsonl.write_atomic(out / SCREEN_EXTRA_FILE, screen_extra)
    jsonl.write_atomic(out / ANSWERS_TRAIN, qa_train)
    jsonl.write_atomic(out / ANSWERS_TEST, qa_test)
    jsonl.write_atomic(out / GOLDEN_FILE, golden_rows)
    (out / VERSION_FILE).write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    return summary


def ingest_step(params: dict, out_dir: str, data: str = "", rev: str = "", repo: str = "") -> dict:
    """Pipeline entry point: `data` (a file or folder) overrides params data.sources."""
    d = params["data"]
    sources = [data] if data else list(d["sources"])
    return ingest(sources, out_dir, feedback=d["feedback"] or None, golden=d["golden"] or None,
                  test_size=float(d["test_size"]), seed=int(d["seed"]),
                  max_answers=int(d["max_answers"]),
                  max_train_per_source_label=d["max_train_per_source_label"],
                  max_test_per_source_label=d["max_test_per_source_label"],
                  spam_holdout=d["spam_holdout"],
                  calibration_per_source=int(d["calibration_per_source"]),
                  repo=repo or None, rev=rev or None)
