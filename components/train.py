"""train: multi-task LoRA SFT (classify + answer) with trl's SFTTrainer and peft.

One adapter does both jobs of the bot: the classification instruction (message -> label)
and the answering instruction (question + channel card + recent chat -> short answer).
Loss is on the completion only. The base is `model.base` from params.yaml: `tiny` builds
a small Gemma2 locally (components.tiny); anything else is a hub id or a local directory.

`train.ensemble` adds members: each is a list of `section.key=value` overrides (e.g. another
tokenizer vocabulary) and becomes a full model directory under `members/` of the model
directory; components.model.ChatModel averages the members' label probabilities. On CPU
the members train at the same time, one process each (`python -m components.train`).
"""
from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from components import jsonl
from components.ingest import (ANSWERS_TRAIN, CALIBRATION_FILE, CHAT_FILE, SCREEN_EXTRA_FILE,
                               VERSION_FILE, cap_groups)
from components.labels import answer_messages, classify_messages, completion
from components.model import (META_FILE, compute_dtype, label_token_ids, pick_device,
                              text_normalizer, torch_threads)


def balance_rows(chat: list[dict], balance: float, seed: int) -> list[dict]:
    """Oversample: every label gets at least `balance` x the largest label's row count
    (rows repeated at random; 0 leaves the data as it is)."""
    if not balance:
        return chat
    rng = random.Random(seed)
    by_label: dict[str, list[dict]] = {}
    for row in chat:
        by_label.setdefault(row["label"], []).append(row)
    target = int(balance * max(len(rows) for rows in by_label.values()))
    out = list(chat)
    for label in sorted(by_label):
        rows = by_label[label]
        out += [rng.choice(rows) for _ in range(target - len(rows))]
    return out


def build_examples(chat: list[dict], answers: list[dict], answer_ratio: float, seed: int,
                   prepare=None, card_share: float = 0.0) -> list[dict]:
    """Prompt/completion conversations for both tasks, shuffled together; `prepare` maps a
    message text to what the model reads (components.model.text_normalizer). Of the
    `answer_ratio` x len(chat) answer examples, at least `card_share` (where there are enough)
    are questions answered from a channel card, the rest drawn from all pairs."""
    rng = random.Random(seed)
    prepare = prepare or (lambda text: text)
    examples = [{"prompt": classify_messages(prepare(r["text"])),
                 "completion": completion(r["label"])} for r in chat]
    answers = list(answers)
    rng.shuffle(answers)
    limit = int(len(chat) * answer_ratio) if answer_ratio else 0
    carded = [r for r in answers if r.get("card")][:round(limit * card_share)]
    taken = {id(r) for r in carded}
    answers = carded + [r for r in answers if id(r) not in taken]
    for row in answers[:limit]:
        examples.append({"prompt": answer_messages(row["question"], row.get("card", ""),
                                                   row.get("recent", ())),
                         "completion": completion(row["answer"])})
    rng.shuffle(examples)
    return examples


def bucketed_order(lengths: list[int], batch_size: int, bucket_batches: int,
                   rng: random.Random) -> list[int]:
    """Example order for batches of similar length, the batches themselves in random order.

    Shuffled examples are cut into buckets of `bucket_batches` batches; each bucket is sorted
    by length and cut into batches; then all batches are shuffled. Short chat lines and long
    comments or answers then rarely share a batch (less padding), while the sequence of
    batches stays random. (transformers' group_by_length keeps each bucket's batches in
    order, long to short; measured here, that starved a label and its F1 fell to 0.)"""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    size = batch_size * max(1, bucket_batches)
    batches = []
    for start in range(0, len(order), size):
        bucket = sorted(order[start:start + size], key=lengths.__getitem__)
        batches += [bucket[i:i + batch_size] for i in range(0, len(bucket), batch_size)]
    rng.shuffle(batches)
    return [i for batch in batches for i in batch]


def prepare_base(params: dict, texts: list[str], model_dir: Path) -> tuple[str, bool, dict, dict]:
    """(path or id to load the base from, whether it is bundled in the model dir, the base
    reference the model records (components.base), the tiny base's pre-training summary)."""
    base = params["model"]["base"]
    if base != "tiny":
        from components.base import resolve
        path, ref = resolve(base)
        return path, False, ref, {}
    from components.tiny import build_tiny_base, pretrain_tiny_base
    cfg, seed = params["model"]["tiny"], int(params["train"]["seed"])
    path = build_tiny_base(texts, model_dir / "base", cfg, seed=seed)
    pretrained = pretrain_tiny_base(path, texts, cfg, seed) if cfg["pretrain_epochs"] else {}
    return str(path), True, {"name": "tiny"}, pretrained


def weights_dtype(device: str, bf16: bool, whole_modules: bool):
    """The dtype the base loads in for training: the compute dtype, as serving loads it (the
    LoRA adapter stays float32, peft's default; on 2 cores with AMX the quickstart's LM trains
    1.08x faster than with float32 weights under autocast: docs/quality.md), except on a CPU
    when whole modules train (`lora.modules_to_save`: the tiny base), which keep float32 for
    precise updates."""
    import torch
    if bf16 and (device == "cuda" or not whole_modules):
        return torch.bfloat16
    return torch.float32


def lora_config(params: dict, model):
    """The LoRA adapter for `model`: on every layer, or on its top `train.lora.layers` (the
    backward pass then stops at the lowest adapted layer, unless whole modules train:
    `modules_to_save`)."""
    from peft import LoraConfig
    lora = params["train"]["lora"]
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    modules_to_save = list(lora["modules_to_save"]) or None
    top = int(lora["layers"])
    depth = int(model.config.get_text_config().num_hidden_layers) if top else 0
    return LoraConfig(r=int(lora["r"]), lora_alpha=int(lora["alpha"]),
                      lora_dropout=float(lora["dropout"]),
                      target_modules=list(lora["target_modules"]),
                      layers_to_transform=list(range(depth - top, depth)) if 0 < top < depth else None,
                      modules_to_save=modules_to_save,
                      ensure_weight_tying=bool(tied and modules_to_save),
                      task_type="CAUSAL_LM")


def sft_config(params: dict, output_dir: str, device: str, bf16: bool):
    from trl import SFTConfig
    t = params["train"]
    return SFTConfig(
        output_dir=output_dir,
        num_train_epochs=float(t["epochs"]),
        max_steps=int(t["max_steps"]) or -1,
        per_device_train_batch_size=int(t["batch_size"]),
        gradient_accumulation_steps=int(t["grad_accum"]),
        learning_rate=float(t["learning_rate"]),
        warmup_steps=float(t["warmup_ratio"]),
        weight_decay=float(t["weight_decay"]),
        lr_scheduler_type="cosine",
        max_length=int(t["max_length"]),
        completion_only_loss=True,
        packing=False,
        bf16=bf16,
        use_cpu=device == "cpu",
        seed=int(t["seed"]),
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        dataloader_num_workers=0,
        disable_tqdm=False,
        # trl turns activation checkpointing on by default: pure recompute cost for a small
        # model; the gemma profile turns it back on to fit the 2B model's activations.
        gradient_checkpointing=bool(t["gradient_checkpointing"]),
    )


def member_params(params: dict, overrides: list[str], threads: int, first: bool) -> dict:
    """The params of one ensemble member: `overrides` applied, no members of its own, and
    a screen only for the `first` (the ensemble has one)."""
    from components.config import set_dotted
    out = copy.deepcopy(params)
    for assignment in overrides:
        set_dotted(out, assignment)
    out["train"]["ensemble"] = []
    out["train"]["threads"] = threads
    out["model"]["screen"]["enabled"] = first and out["model"]["screen"]["enabled"]
    return out


def train(data_dir: str | os.PathLike, model_dir: str | os.PathLike, params: dict) -> dict:
    """Fine-tune on `data_dir`'s train split; write the model directory; choose its toxic
    floor on the calibration rows; return a summary (with `train.ensemble`, the first
    member's, plus `members` and the total seconds; `calibration` when one was made)."""
    summary = _train_members(data_dir, model_dir, params)
    calibration = calibrate(data_dir, model_dir, params)
    if calibration:
        summary["calibration"] = calibration
    return summary


def calibrate(data_dir: str | os.PathLike, model_dir: str | os.PathLike, params: dict) -> dict | None:
    """The floors chosen on the split's calibration rows (components.calibrate), logged."""
    from components.calibrate import calibrate as choose
    rows = jsonl.load(Path(data_dir) / CALIBRATION_FILE, missing_ok=True)
    started = time.time()
    result = choose(model_dir, rows, params)
    if result:
        print(f"chatloop: operating point: spam floor {result['given']['spam']} -> "
              f"{result['min_flag']['spam']} ({result['normal_spam']:.1%} labelled spam, budget "
              f"{result['spam_target']:.1%}); toxic floor {result['given']['toxic']} -> "
              f"{result['min_flag']['toxic']}: {result['normal_flagged']:.1%} of {result['rows']} "
              f"held-out normal messages flagged (target {result['target']:.1%}"
              f"{'' if result['reached'] else ', NOT reached at calibrate.max_toxic'}; "
              f"{time.time() - started:.0f} s)", flush=True)
    return result


def _train_members(data_dir, model_dir, params: dict) -> dict:
    extra = [list(m) for m in params["train"]["ensemble"]]
    if not extra:
        return train_one(data_dir, model_dir, params)
    on_cpu = pick_device() == "cpu"
    threads = int(params["train"]["threads"])
    if on_cpu and not threads:        # every member at once, the cores shared out
        threads = max(1, (os.cpu_count() or 1) // (1 + len(extra)))
    started, out = time.time(), Path(model_dir)
    plans = [(out, member_params(params, [], threads, True))]
    plans += [(out / "members" / str(i), member_params(params, m, threads, False))
              for i, m in enumerate(extra, 1)]
    summaries = (_train_in_processes(data_dir, plans) if on_cpu   # one accelerator: in turn
                 else [train_one(data_dir, path, p) for path, p in plans])
    meta = json.loads((out / META_FILE).read_text())
    meta["members"] = [str(path.relative_to(out)) for path, _ in plans[1:]]
    meta["ensemble"] = extra
    (out / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2))
    return {**summaries[0], "members": 1 + len(extra), "member_summaries": summaries,
            "train_seconds": round(time.time() - started, 2)}


def _train_in_processes(data_dir, plans: list[tuple[Path, dict]]) -> list[dict]:
    """Run train_one for every (model dir, params) at once, one subprocess each; a line per
    member as it ends (each member's own log stays in a file: interleaved bars are noise)."""
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="chatloop-members-") as tmp:
        jobs = []
        for i, (path, p) in enumerate(plans):
            spec, log = Path(tmp) / f"{i}.json", Path(tmp) / f"{i}.log"
            spec.write_text(json.dumps({"data": str(data_dir), "model": str(path), "params": p}))
            with open(log, "w") as fh:
                proc = subprocess.Popen([sys.executable, "-m", "components.train", str(spec)],
                                        stdout=fh, stderr=subprocess.STDOUT)
            jobs.append((proc, log, spec))
        print(f"chatloop: training {len(jobs)} ensemble members at once", flush=True)
        failed = []
        for i, (proc, log, _) in enumerate(jobs):
            code = proc.wait()
            print(f"chatloop: member {i} {'failed' if code else 'done'} after "
                  f"{time.time() - started:.0f} s", flush=True)
            if code:
                failed.append(f"member {i} exited {code}:\n" + log.read_text(errors="replace")[-3000:])
        if failed:
            raise RuntimeError("ensemble training failed; " + "\n".join(failed))
        return [json.loads(spec.with_suffix(".out.json").read_text()) for _, _, spec in jobs]


def fit_screen(params: dict, chat: list[dict], data: Path, prepare,
               extra: int | dict[str, int] | None = None):
    """(the screen, its row count): fitted (params model.screen) on the LM's classification
    rows `chat` plus up to `extra` (default `extra_per_source_label`: one number, or source ->
    number with "*" for the others; 0 = none) of each (source, label) of the rows the caps
    left out (`data`/screen_extra.jsonl, written by ingest)."""
    from components.screen import Screen
    cfg, seed = params["model"]["screen"], int(params["train"]["seed"])
    extra = cfg["extra_per_source_label"] if extra is None else extra
    caps = extra if isinstance(extra, dict) else {"*": extra}
    if any(caps.values()):
        extra_rows = [r for r in jsonl.load(data / SCREEN_EXTRA_FILE, missing_ok=True)
                      if caps.get(r["source"], caps.get("*", 0))]   # 0: none (cap_groups: all)
        chat = chat + cap_groups(extra_rows, caps, seed)
    texts, labels = [prepare(r["text"]) for r in chat], [r["label"] for r in chat]
    return Screen.fit(texts, labels, int(cfg["max_features"]), float(cfg["c"]), seed), len(texts)


def train_screen(params: dict, chat: list[dict], data: Path, prepare, out: Path) -> dict | None:
    """Fit (fit_screen) and save the screen; its entry for chatloop.json, or None when
    `enabled` is false."""
    cfg = params["model"]["screen"]
    if not cfg["enabled"]:
        return None
    started = time.time()
    screen, rows = fit_screen(params, chat, data, prepare)
    screen.save(out)
    seconds = round(time.time() - started, 2)
    print(f"chatloop: screen fitted on {rows} rows in {seconds:.0f} s", flush=True)
    return {"confidence": float(cfg["confidence"]), "weight": float(cfg["weight"]),
            "rows": rows, "seconds": seconds}


def train_one(data_dir: str | os.PathLike, model_dir: str | os.PathLike, params: dict) -> dict:
    """One model: fine-tune on `data_dir`'s train split, write the model directory."""
    import torch
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from components.labels import CHAT_TEMPLATE

    data, out = Path(data_dir), Path(model_dir)
    chat = jsonl.load(data / CHAT_FILE, missing_ok=True)
    answers = jsonl.load(data / ANSWERS_TRAIN, missing_ok=True)
    if not chat:
        raise ValueError(f"no training rows in {data / CHAT_FILE}")
    out.mkdir(parents=True, exist_ok=True)
    t = params["train"]
    torch.manual_seed(int(t["seed"]))
    device = pick_device()
    if device == "cpu":
        torch_threads(int(t["threads"]))

    normalizer = t["normalize"]
    prepare = text_normalizer(normalizer)
    texts = [prepare(r["text"]) for r in chat] + [r["question"] + " " + r["answer"] for r in answers]
    base, bundled, base_ref, pretrained = prepare_base(params, texts, out)
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.chat_template = CHAT_TEMPLATE   # one prompt format whatever the base ships
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    bf16 = compute_dtype(device, params["model"]["dtype"]) == torch.bfloat16
    print(f"chatloop: training on {device} in {'bfloat16' if bf16 else 'float32'}"
          f"{'' if bf16 or device == 'cuda' else ' (this CPU has no bfloat16 support)'}",
          flush=True)
    weights = weights_dtype(device, bf16, bool(t["lora"]["modules_to_save"]))
    model = AutoModelForCausalLM.from_pretrained(base, dtype=weights)
    model = get_peft_model(model, lora_config(params, model))
    trainable, total = model.get_nb_trainable_parameters()

    chat = balance_rows(chat, float(t["balance"]), int(t["seed"]))
    examples = build_examples(chat, answers, float(t["answer_ratio"]), int(t["seed"]), prepare,
                              float(t["card_answer_share"]))
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = trainer_class(int(t["length_buckets"]), int(t["seed"]), bool(t["reuse_prefix"]))(
            model=model, args=sft_config(params, tmp, device, bf16),
                                train_dataset=Dataset.from_list(examples), processing_class=tokenizer)
        result = trainer.train()
    seconds = time.time() - started

    model.save_pretrained(out / "adapter")
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(out / "adapter")
    data_version = {}
    if (data / VERSION_FILE).exists():
        data_version = json.loads((data / VERSION_FILE).read_text()).get("data_version", {})
    summary = {
        "examples": len(examples), "classify_examples": len(chat),
        "answer_examples": len(examples) - len(chat),
        "train_loss": float(result.training_loss), "train_seconds": round(seconds, 2),
        "examples_per_second": round(len(examples) * float(t["epochs"]) / max(seconds, 1e-9), 2),
        "trainable_params": int(trainable), "total_params": int(total), "device": device,
        "weights_dtype": str(weights).removeprefix("torch."),
        **pretrained,
    }
    screen = train_screen(params, chat, data, prepare, out)
    if screen:
        summary["screen_seconds"] = screen.pop("seconds")
    meta = {"base": base_ref["name"], "base_ref": base_ref, "base_bundled": bundled,
            "normalize": normalizer, "dtype": params["model"]["dtype"],
            "min_flag": dict(params["model"]["min_flag"]), "screen": screen,
            "label_token_ids": label_token_ids(tokenizer),
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "data_version": data_version, "train": summary}
    (out / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2))
    return summary


def shared_prefix_length(input_ids, labels, attention_mask=None) -> int:
    """How many leading tokens every row of the batch shares (real tokens, not padding) with
    no completion token among them or right after them (0 when the first tokens differ)."""
    same = (input_ids == input_ids[:1]).all(0)
    if attention_mask is not None:
        same &= attention_mask.bool().all(0)
    length = int(same.long().cumprod(0).sum())
    targets = (labels != -100).any(0)          # a position holding a completion token
    first_target = int(targets.long().argmax()) if bool(targets.any()) else labels.shape[1]
    return max(0, min(length, first_target - 1))


def completion_loss(model, inputs: dict, count=None, reuse_prefix: bool = True):
    """Causal-LM cross-entropy summed over the positions whose next token is a completion
    token (labels != -100), divided by `count` (default: their number): the model's own loss,
    with the output layer applied only at those positions.

    With `reuse_prefix`, the tokens every row starts with (the instruction: about half of a
    classification example) run once, at batch size 1, and the rows continue from that
    key/value cache, as label scoring does (components.model); gradients reach the adapter
    through both. Same loss up to float rounding (test)."""
    import torch
    import torch.nn.functional as F
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    ids, mask_in, labels = inputs["input_ids"], inputs.get("attention_mask"), inputs["labels"]
    positions = inputs.get("position_ids")
    start = shared_prefix_length(ids, labels, mask_in) if reuse_prefix and positions is None else 0
    extra = {}
    if start:
        past = base.model(input_ids=ids[:1, :start], use_cache=True).past_key_values
        past.batch_repeat_interleave(ids.shape[0])
        positions = torch.arange(start, ids.shape[1], device=ids.device).expand(ids.shape[0], -1)
        extra = {"past_key_values": past}
    hidden = base.model(input_ids=ids[:, start:], attention_mask=mask_in, position_ids=positions,
                        use_cache=bool(start), **extra).last_hidden_state[:, :-1]
    targets = labels[:, start + 1:]
    mask = targets != -100
    logits = base.lm_head(hidden[mask]).float()
    cap = getattr(base.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    loss = F.cross_entropy(logits, targets[mask], reduction="sum")
    count = mask.sum() if count is None else count
    return loss / torch.as_tensor(count, device=loss.device).clamp(min=1)


def trainer_class(bucket_batches: int, seed: int, reuse_prefix: bool = True):
    """trl's SFTTrainer with the loss computed from the output layer only where a completion
    token is predicted (a label, or an answer's tokens): with Gemma 3's 262k-row output layer,
    trl's chunked log-probabilities spend most of a CPU step on the frozen output weights.
    `reuse_prefix`: see completion_loss. With `bucket_batches`, the training sampler is
    replaced by bucketed_order batches."""
    import torch
    from trl import SFTTrainer

    class CompletionLossTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            with self.accelerator.autocast():
                return completion_loss(model, inputs, num_items_in_batch, reuse_prefix)

    if not bucket_batches:
        return CompletionLossTrainer
    if not hasattr(SFTTrainer, "_get_train_sampler"):   # a private hook: fail loudly if it goes
        raise RuntimeError("train.length_buckets needs Trainer._get_train_sampler "
                           "(transformers as pinned in requirements.lock)")

    class Sampler(torch.utils.data.Sampler):
        def __init__(self, lengths, batch_size):
            self.lengths, self.batch_size, self.rng = lengths, batch_size, random.Random(seed)

        def __len__(self):
            return len(self.lengths)

        def __iter__(self):
            return iter(bucketed_order(self.lengths, self.batch_size, bucket_batches, self.rng))

    class BucketedTrainer(CompletionLossTrainer):
        def _get_train_sampler(self, train_dataset=None):
            dataset = self.train_dataset if train_dataset is None else train_dataset
            return Sampler([len(ids) for ids in dataset["input_ids"]],
                           self.args.train_batch_size * self.args.gradient_accumulation_steps)

    return BucketedTrainer


def train_step(params: dict, data_dir: str, model_dir: str) -> dict:
    """Pipeline entry point (wrapped by pipelines.steps)."""
    return train(data_dir, model_dir, params)


if __name__ == "__main__":   # one ensemble member: python -m components.train SPEC.json
    job = json.loads(Path(sys.argv[1]).read_text())
    result = train_one(job["data"], job["model"], job["params"])
    Path(sys.argv[1]).with_suffix(".out.json").write_text(json.dumps(result))
