"""data import: map the shared Korean datasets into DVC-tracked `data/raw/`.

Reads every dataset in the shared folder (`../shared/data` beside the project), in its
original format, maps its labels through components.labels (the one mapping), normalises
texts, and writes one JSONL file per dataset that components.ingest reads:

- chat rows `{"text", "label", "source": <dataset>}` (curse-detection, korean-hate-speech, 3i4k),
- answer rows `{"question", "answer", "card": "", "source": "chatbot-data"}`,
- generated spam `{"text", "label": "spam", "source": "spam", "family"}` (components.spam),

plus `manifest.json` (counts, source-file hashes, spam settings). The new folder is built
beside the old one and swapped in only when complete, so a failed import leaves the old
`data/raw` as it was. Then `dvc add` (and `dvc push` on request) versions it.

Malformed input is an error naming `file:line` (the shared sets parse cleanly, so any bad
line means a changed or corrupted file, which should stop the import, not shrink it
silently). Blank lines and rows whose text is empty after normalisation are skipped and
counted.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from chatloop.errors import ChatloopError
from components import dvc as dvc_tool
from components import jsonl, spam
from components.config import ROOT, load_params, sha256_file
from components.labels import LabelError, map_label, normalize_text

log = logging.getLogger(__name__)

SPAM = "spam"
LIVECHAT = "livechat"     # generated everyday stream chat (components.livechat): hard negatives
CARDQA = "cardqa"         # generated questions answered from a channel card (components.cardqa)
MANIFEST = "manifest.json"
INDEPENDENT = ROOT / "data" / "independent"   # hand-written sets (git): golden only, never trained


class DataImportError(ChatloopError):
    """Bad or missing input: the message names the file (and line)."""


# ------------------------------------------------------------------ format readers
# Each reader yields (line number, fields) for one file; fields are (text, raw label) for
# chat datasets and (question, answer) for question/answer pairs. None = a blank line.
Record = tuple[int, tuple[str, str] | None]


def _bad(path: Path, lineno: int, why: str) -> DataImportError:
    return DataImportError(f"{path}:{lineno}: {why}")


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for lineno, line in enumerate(fh, 1):
            yield lineno, line.rstrip("\r\n")


def _two_field_lines(path: Path, sep: str, label_first: bool) -> Iterator[Record]:
    """Lines of `text<sep>label` (split on the LAST sep) or `label<sep>text` (the first)."""
    shown = "<TAB>" if sep == "\t" else sep
    shape = f"label{shown}text" if label_first else f"text{shown}label"
    for lineno, line in _text_lines(path):
        if not line.strip():
            yield lineno, None
        elif sep not in line:
            raise _bad(path, lineno, f"expected `{shape}`, found no {shown}")
        elif label_first:
            label, text = line.split(sep, 1)
            yield lineno, (text, label)
        else:
            text, label = line.rsplit(sep, 1)
            yield lineno, (text, label)


def read_pipe_lines(path: Path) -> Iterator[Record]:
    """curse-detection: `text|label`; the text may itself contain `|`, the label is last."""
    return _two_field_lines(path, "|", label_first=False)


def read_label_tab_text(path: Path) -> Iterator[Record]:
    """3i4k: `label<TAB>text`."""
    return _two_field_lines(path, "\t", label_first=True)


def read_hate_tsv(path: Path) -> Iterator[Record]:
    """korean-hate-speech: TSV with a header naming `comments` and `hate` columns."""
    lines = _text_lines(path)
    _, header_line = next(lines, (1, ""))
    header = header_line.split("\t")
    if "comments" not in header or "hate" not in header:
        raise _bad(path, 1, f"header must name 'comments' and 'hate' columns, got {header}")
    text_col, label_col = header.index("comments"), header.index("hate")
    for lineno, line in lines:
        if not line.strip():
            yield lineno, None
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise _bad(path, lineno, f"expected {len(header)} tab-separated fields, "
                                     f"found {len(fields)}")
        yield lineno, (fields[text_col], fields[label_col])


def read_qa_csv(path: Path) -> Iterator[Record]:
    """chatbot-data: CSV with header Q,A,label (quoted fields may hold commas)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if "Q" not in header or "A" not in header:
            raise _bad(path, 1, f"header must name 'Q' and 'A' columns, got {header}")
        q_col, a_col = header.index("Q"), header.index("A")
        try:
            for fields in reader:
                if not any(f.strip() for f in fields):
                    yield reader.line_num, None
                elif len(fields) != len(header):
                    raise _bad(path, reader.line_num, f"expected {len(header)} CSV fields, "
                                                      f"found {len(fields)}")
                else:
                    yield reader.line_num, (fields[q_col], fields[a_col])
        except csv.Error as exc:
            raise _bad(path, reader.line_num, f"bad CSV ({exc})") from None


@dataclass(frozen=True)
class Dataset:
    """One shared dataset: its folder, which files to read, how, and what rows it gives."""
    name: str
    pattern: str
    reader: Callable[[Path], Iterator[Record]]
    kind: str = "chat"          # "chat" (text + mapped label) or "answers" (question/answer)

    @property
    def output(self) -> str:
        return f"{self.name}.answers.jsonl" if self.kind == "answers" else f"{self.name}.jsonl"


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("curse-detection", "*.txt", read_pipe_lines),
    Dataset("korean-hate-speech", "*.tsv", read_hate_tsv),
    Dataset("3i4k", "*.txt", read_label_tab_text),
    Dataset("chatbot-data", "*.csv", read_qa_csv, kind="answers"),
)}


# ------------------------------------------------------------------------ mapping
def convert(dataset: Dataset, files: list[Path]) -> tuple[list[dict], dict]:
    """Rows for one dataset (labels mapped, texts normalised) and its counts."""
    rows, skipped = [], 0
    for path in files:
        for lineno, fields in dataset.reader(path):
            if fields is None:
                skipped += 1
                continue
            first, second = (normalize_text(f) for f in fields)
            if dataset.kind == "answers":
                if not first or not second:
                    skipped += 1
                    continue
                rows.append({"question": first, "answer": second, "card": "",
                             "source": dataset.name})
                continue
            try:
                label = map_label(dataset.name, fields[1])
            except LabelError as exc:
                raise _bad(path, lineno, str(exc)) from None
            if not first:
                skipped += 1
                continue
            rows.append({"text": first, "label": label, "source": dataset.name})
    labels = dict(sorted(Counter(r["label"] for r in rows if "label" in r).items()))
    return rows, {"rows": len(rows), "labels": labels, "skipped": skipped,
                  "file": dataset.output}


def dataset_files(shared: Path, dataset: Dataset) -> list[Path]:
    """The dataset's input files, or a clear error when the folder has none."""
    folder = shared / dataset.name
    files = sorted(folder.glob(dataset.pattern)) if folder.is_dir() else []
    if not files:
        raise DataImportError(f"{dataset.name}: no {dataset.pattern} files in {folder}")
    return files


def split_golden(rows: list[dict], per_label: int, max_share: float = 0.1) -> tuple[list[dict], list[dict]]:
    """(golden, rest): for each label, the `per_label` rows whose text hashes lowest, at
    most `max_share` of the label's rows. The choice depends on a row's text alone, so a
    re-import keeps the same golden rows."""
    def key(row: dict) -> str:
        return hashlib.sha256(row["text"].encode("utf-8")).hexdigest()
    chosen: set[int] = set()
    for label in sorted({r["label"] for r in rows}):
        group = sorted((i for i, r in enumerate(rows) if r["label"] == label),
                       key=lambda i: key(rows[i]))
        chosen.update(group[:min(per_label, int(len(group) * max_share))])
    return ([r for i, r in enumerate(rows) if i in chosen],
            [r for i, r in enumerate(rows) if i not in chosen])


def independent_rows(folder: Path = INDEPENDENT) -> list[dict]:
    """The hand-written evaluation sets (data/independent/*.jsonl) as golden rows."""
    from components.labels import check_label
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        try:
            lines = list(jsonl.read(path))
        except jsonl.JsonlError as exc:
            raise DataImportError(str(exc)) from None
        for lineno, row in lines:
            try:
                rows.append({"text": normalize_text(row["text"]), "label": check_label(row["label"]),
                             "source": "independent", "kind": str(row.get("kind", ""))})
            except (ValueError, KeyError, TypeError) as exc:
                raise _bad(path, lineno, f"expected {{text, label, kind}} ({exc})") from None
    return rows


# ------------------------------------------------------------------------ writing
def write_folder(out: Path, files: dict[str, list[dict]], manifest: dict,
                 keep_existing: bool) -> None:
    """Build the new folder beside `out`, then swap it in; on failure `out` is untouched.

    With `keep_existing`, files of the old folder that this import does not rewrite stay.
    """
    if out.exists() and not out.is_dir():
        raise DataImportError(f"output {out} exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.importing-{os.getpid()}")
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if keep_existing and out.is_dir():
            shutil.copytree(out, tmp)
            previous = tmp / MANIFEST
            if previous.exists():
                old_sets = json.loads(previous.read_text(encoding="utf-8")).get("datasets", {})
                manifest["datasets"] = {**old_sets, **manifest["datasets"]}
        else:
            tmp.mkdir()
        for name, rows in files.items():
            jsonl.write_atomic(tmp / name, rows)
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
        if out.exists():
            out.rename(old)
        try:
            tmp.rename(out)
        except OSError:
            if old.exists():
                old.rename(out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- DVC
def dvc_root(path: Path) -> Path:
    """The DVC repository that holds `path` (nearest parent with a `.dvc/` folder)."""
    try:
        return dvc_tool.root(path)
    except dvc_tool.DvcError as exc:
        raise DataImportError(str(exc)) from None


def _dvc(repo: Path, *args: str) -> None:
    try:
        dvc_tool.run(repo, *args)
    except dvc_tool.DvcError as exc:
        raise DataImportError(str(exc)) from None


def dvc_version(out: Path, push: bool) -> str:
    """`dvc add` the folder (and `dvc push` it); returns the pointer file's path."""
    repo = dvc_root(out)
    target = os.path.relpath(out, repo)
    _dvc(repo, "add", target)
    if push:
        _dvc(repo, "push", target + ".dvc")
    return str(out.with_name(out.name + ".dvc"))


# ---------------------------------------------------------------------------- main
def default_shared() -> Path:
    """`../shared/data` beside the project checkout."""
    return ROOT.parent / "shared" / "data"


def import_datasets(shared: str | None, output: str = "data/raw", golden: str | None = None,
                    datasets: list[str] | None = None, dvc: bool = True,
                    push: bool = False, spam_rows: int | None = None,
                    spam_seed: int | None = None, download: bool = False,
                    mirror: str | None = None) -> dict:
    """Import the shared datasets (default: all present, plus generated spam) into `output`.

    Returns {dataset: {rows, labels, skipped, file}}. Relative `output` is taken from the
    project root. From each chat dataset, `data_import.golden_per_label` rows per label go to
    `golden` (default: `golden` beside `output`) instead, with the hand-written
    data/independent sets: the fixed real-chat set
    every candidate is gated on, never trained on; both folders are DVC-tracked. Spam size and seed default to params.yaml `data_import`. Without `shared`
    and `default_shared()`, or with `download` / `mirror`, the datasets are first downloaded
    from their pinned upstream commits (components.data_download) into the state folder.
    """
    shared_dir = Path(shared) if shared else default_shared()
    origin = f"local:{shared_dir}"
    if download or mirror or not (shared or shared_dir.exists()):
        if shared:
            raise DataImportError("give either a local --shared folder or --download/--mirror")
        from components import data_download
        from components.config import state_dir
        shared_dir = data_download.download(state_dir() / "downloads", mirror)
        origin = data_download.origin()
    log.info("importing datasets from %s (%s)", shared_dir, origin)
    out = Path(output) if Path(output).is_absolute() else ROOT / output
    known = [*DATASETS, SPAM, LIVECHAT, CARDQA]
    if datasets:
        unknown = sorted(set(datasets) - set(known))
        if unknown:
            raise DataImportError(f"unknown dataset(s) {unknown}; known: {known}")
        names = [n for n in known if n in datasets]
    else:
        names = [n for n in DATASETS if (shared_dir / n).is_dir()] + [SPAM, LIVECHAT, CARDQA]
        missing = [n for n in DATASETS if n not in names]
        if len(missing) == len(DATASETS):
            raise DataImportError(f"no shared datasets found in {shared_dir} "
                                  f"(expected folders {list(DATASETS)}; pass --shared)")
        for name in missing:
            log.warning("shared dataset %s not found in %s; skipped", name, shared_dir)

    params = load_params()["data_import"]
    spam_rows = int(spam_rows if spam_rows is not None else params["spam_rows"])
    spam_seed = int(spam_seed if spam_seed is not None else params["spam_seed"])
    golden_per_label = int(params["golden_per_label"])
    golden_out = (Path(golden) if Path(golden).is_absolute() else ROOT / golden) if golden \
        else out.with_name("golden")
    golden_files: dict[str, list[dict]] = {"independent.jsonl": independent_rows()}

    files: dict[str, list[dict]] = {}
    result: dict[str, dict] = {}
    manifest: dict = {"shared": str(shared_dir), "origin": origin, "datasets": {}}
    for name in names:
        if name == LIVECHAT:
            from components import livechat
            seed = int(params["livechat_seed"])
            rows = [{"text": normalize_text(r["text"]), "label": r["label"], "source": LIVECHAT,
                     "kind": r["kind"]} for r in livechat.generate(int(params["livechat_rows"]), seed)]
            files["livechat.jsonl"] = rows
            result[name] = {"rows": len(rows), "labels": dict(Counter(r["label"] for r in rows)),
                            "skipped": 0, "file": "livechat.jsonl"}
            manifest["datasets"][name] = {**result[name], "seed": seed}
            continue
        if name == CARDQA:
            from components import cardqa
            seed = int(params["cardqa_seed"])
            rows = cardqa.generate(int(params["cardqa_rows"]), seed, part="train")
            files["cardqa.jsonl"] = rows
            result[name] = {"rows": len(rows), "labels": {}, "skipped": 0, "file": "cardqa.jsonl"}
            manifest["datasets"][name] = {**result[name], "seed": seed}
            continue
        if name == SPAM:
            rows = [{"text": r["text"], "label": "spam", "source": SPAM, "family": r["family"]}
                    for r in spam.generate(spam_rows, spam_seed)]
            files["spam.jsonl"] = rows
            result[name] = {"rows": len(rows), "labels": {"spam": len(rows)}, "skipped": 0,
                            "file": "spam.jsonl",
                            "kinds": len({spam.kind_of(r["family"]) for r in rows}),
                            "families": len({r["family"] for r in rows})}
            manifest["datasets"][name] = {**result[name], "seed": spam_seed}
            continue
        dataset = DATASETS[name]
        inputs = dataset_files(shared_dir, dataset)
        rows, counts = convert(dataset, inputs)
        if dataset.kind == "chat" and golden_per_label:
            held, rows = split_golden(rows, golden_per_label)
            if held:
                golden_files[dataset.output] = held
                counts = {**counts, "rows": len(rows), "golden": len(held),
                          "labels": dict(sorted(Counter(r["label"] for r in rows).items()))}
        files[dataset.output] = rows
        result[name] = counts
        manifest["datasets"][name] = {**counts, "inputs": {
            str(p.relative_to(shared_dir)): sha256_file(p) for p in inputs}}
        log.info("%s: %d rows %s, %d skipped", name, counts["rows"], counts["labels"],
                 counts["skipped"])

    if dvc:
        dvc_root(out)   # fail before writing anything when there is no DVC repository
    write_folder(out, files, manifest, keep_existing=bool(datasets))
    golden_manifest = {"per_label": golden_per_label, "origin": origin, "datasets": {
        name: dict(Counter(r["label"] for r in rows)) for name, rows in golden_files.items()}}
    write_folder(golden_out, golden_files, golden_manifest, keep_existing=bool(datasets))
    log.info("golden set %s: %s", golden_out, golden_manifest["datasets"])
    if dvc:
        for folder in (out, golden_out):
            pointer = dvc_version(folder, push)
            log.info("dvc: %s updated%s", pointer, " and pushed" if push else "")
    return result
