"""The model wrapper that classifies and answers; shared by evaluate, classify and serving.

A model directory holds:
  chatloop.json   labels, label token ids, base model reference, train summary
  adapter/        the LoRA adapter (peft) and the tokenizer
  base/           the base weights, only when the base is the locally built tiny model
  screen.npz      the char n-gram screen in front of the LM (components.screen), if trained
Classification is batched label scoring: one forward pass over left-padded prompts,
softmax over the four label tokens at the last position (no `generate`), behind the screen.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from components.labels import LABELS, answer_messages, classify_messages, decide, render_prompt

META_FILE = "chatloop.json"


def label_token_ids(tokenizer) -> list[int]:
    """The first token of each label's completion; they must be distinct for scoring."""
    probe = render_prompt(tokenizer, classify_messages("x"))
    base = tokenizer(probe, add_special_tokens=False)["input_ids"]
    ids = []
    for label in LABELS:
        full = tokenizer(probe + label, add_special_tokens=False)["input_ids"]
        if full[:len(base)] != base or len(full) == len(base):
            raise ValueError(f"label {label!r} does not start on a token boundary after the prompt")
        ids.append(full[len(base)])
    if len(set(ids)) != len(ids):
        raise ValueError(f"labels share a first token ({ids}); label scoring needs distinct tokens")
    return ids


def text_normalizer(name: str | None):
    """What a message becomes before the prompt: `none` (labels.normalize_text only, in the
    prompt) or `evasion` (components.normalize: QWERTY Hangul, jamo, separators undone;
    the same function serving's rules use). Recorded in chatloop.json at training time."""
    if name in (None, "", "none"):
        return lambda text: text
    if name == "evasion":
        from components.normalize import normalize_evasion
        return normalize_evasion
    raise ValueError(f"unknown text normalizer {name!r}; expected none or evasion")


def pick_device(device: str | None = None) -> str:
    import torch
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


THREADS_ENV = "CHATLOOP_TORCH_THREADS"
_threads: int | None = None   # set once per process by torch_threads


def cpu_budget() -> tuple[int, int | None, float]:
    """(CPUs this process may run on, cgroup v2 cpu.max quota in whole CPUs or None, 1-minute
    load average)."""
    import math
    import os
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = None
    try:
        limit, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if limit != "max":
            quota = max(1, math.ceil(int(limit) / int(period)))
    except (OSError, ValueError):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return cores, quota, load


def torch_threads(requested: int = 0) -> int:
    """Set torch's CPU threads once per process and log which and why: `requested` (params
    train.threads) > $CHATLOOP_TORCH_THREADS > $OMP_NUM_THREADS (left to torch) > automatic:
    every allowed CPU (cgroup quota, affinity), or half of them when the load average says
    every core is already busy: there, contending threads can be many times slower than one
    (measured: 74 s vs 17 min). Returns the count."""
    global _threads
    import logging
    import os

    import torch
    log = logging.getLogger(__name__)
    if _threads is not None and not requested:
        return _threads
    env = os.environ.get(THREADS_ENV, "").strip()
    if requested:
        n, why = int(requested), "params train.threads"
    elif env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"${THREADS_ENV} must be a whole number >= 1, got {env!r}")
        n, why = int(env), f"${THREADS_ENV}"
    elif os.environ.get("OMP_NUM_THREADS"):
        _threads = torch.get_num_threads()
        log.info("torch threads: %d (from $OMP_NUM_THREADS)", _threads)
        return _threads
    else:
        cores, quota, load = cpu_budget()
        limit = min(quota or cores, cores)
        n = limit if load < cores else max(1, limit // 2)   # saturated: fewer threads
        why = (f"automatic: {cores} CPUs allowed, cgroup quota {quota or 'none'}, load average "
               f"{load:.1f}; set ${THREADS_ENV} to choose")
    torch.set_num_threads(n)
    _threads = n
    log.info("torch threads: %d (%s)", n, why)
    return n


def compute_dtype(device: str, choice: str = "auto"):
    """The torch dtype to compute in: `auto` is bfloat16 on a GPU and on a CPU with native
    bfloat16 matmuls (AMX / AVX512-BF16: 3-4x faster than float32 there), else float32."""
    import torch
    if choice not in ("auto", "bfloat16", "float32"):
        raise ValueError(f"dtype must be auto, bfloat16 or float32, got {choice!r}")
    if choice == "auto":
        probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
        fast = device == "cuda" or bool(probe())
        choice = "bfloat16" if fast else "float32"
    return torch.bfloat16 if choice == "bfloat16" else torch.float32


def fuse_norms(model) -> int:
    """Swap Gemma's RMSNorm forward (float32 x * rsqrt(mean(x^2) + eps) * (1 + w), six
    element-wise ops) for torch's fused `rms_norm` on the same float32 values: the same
    numbers, about a third of the time on CPU, where these norms cost more than the matmuls
    of a short chat message. Inference only (the scale is frozen). Returns how many."""
    import torch
    import torch.nn.functional as F

    def fused(norm):
        scale = (1.0 + norm.weight.detach().float())
        shape, eps = tuple(scale.shape), norm.eps

        def forward(x):
            return F.rms_norm(x.float(), shape, scale, eps).type_as(x)
        return forward

    count = 0
    for module in model.modules():
        name = type(module).__name__
        if name in ("Gemma2RMSNorm", "Gemma3RMSNorm") and isinstance(
                getattr(module, "weight", None), torch.Tensor):
            module.forward = fused(module)
            count += 1
    return count


def flat_output_layer(model) -> bool:
    """Run the output layer on a 2-D view of its input. Generation feeds it the last
    position sliced out of the prompt's hidden states ([1, 1, d] with the prompt's strides),
    and torch's linear then copies the whole transposed vocabulary matrix (262k x 640 for
    Gemma 3: about 0.9 s on 2 cores) before a 15 ms product; a 2-D view skips the copy.
    Same numbers. Inference only. Returns whether it was applied."""
    import torch.nn.functional as F

    head = model.get_output_embeddings()
    if head is None or type(head).__name__ != "Linear":
        return False

    def forward(x):
        return F.linear(x.reshape(-1, x.shape[-1]), head.weight, head.bias).view(
            *x.shape[:-1], -1)
    head.forward = forward
    return True


class ChatModel:
    """A causal LM with the chatloop adapter: `classify`, `label_probs` and `answer`."""

    def __init__(self, model, tokenizer, meta: dict, device: str = "cpu"):
        import torch
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        self.meta = meta
        self.device = device
        self.label_ids = torch.tensor(meta["label_token_ids"], device=device)
        self.prepare = text_normalizer(meta.get("normalize"))
        self.min_flag = dict(meta.get("min_flag") or {})  # params model.min_flag at training
        self._prefix = None  # (prompt-prefix token ids, their KV cache), built on first use
        self.members: list[ChatModel] = []  # ensemble members (train.ensemble); label_probs averages
        self.screen = None                  # components.screen.Screen, with meta["screen"]
        # messages decided by the screen alone, by the LM, by the screen for want of time
        self.counts = {"screen": 0, "lm": 0, "late": 0}

    @classmethod
    def load(cls, model_dir: str | Path, device: str | None = None, merge: bool = True,
             dtype: str | None = None) -> "ChatModel":
        """Load base + adapter from a model directory (merged for fast inference). The base
        is the bundled one or the reference in chatloop.json (components.base.verify);
        `dtype` defaults to the one recorded at training (`auto`: see compute_dtype)."""
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        root = Path(model_dir)
        meta_path = root / META_FILE
        if not meta_path.exists():
            raise FileNotFoundError(f"{root} is not a chatloop model directory (no {META_FILE})")
        meta = json.loads(meta_path.read_text())
        device = pick_device(device)
        if device == "cpu":
            torch_threads()
        if meta.get("base_bundled"):
            base = str(root / "base")
        else:
            from components.base import verify
            base = verify(meta.get("base_ref") or {"name": meta["base"]})
        torch_dtype = compute_dtype(device, dtype or meta.get("dtype", "auto"))
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype)
        model = PeftModel.from_pretrained(model, str(root / "adapter"))
        if merge:
            model = model.merge_and_unload()
        tokenizer = AutoTokenizer.from_pretrained(str(root / "adapter"))
        model = model.to(device)
        if merge:
            fuse_norms(model)
            flat_output_layer(model)
        loaded = cls(model, tokenizer, meta, device)
        loaded.members = [cls.load(root / member, device, merge, dtype)
                          for member in meta.get("members", [])]
        if meta.get("screen"):
            from components.screen import Screen
            loaded.screen = Screen.load(root)
        return loaded

    def _encode(self, prompts: Sequence[str]):
        batch = self.tokenizer(list(prompts), return_tensors="pt", padding=True,
                               add_special_tokens=False)
        mask = batch["attention_mask"]
        # Left padding: positions must count real tokens only, as in training.
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        return {"input_ids": batch["input_ids"].to(self.device),
                "attention_mask": mask.to(self.device),
                "position_ids": position_ids.to(self.device)}

    def label_probs(self, texts: Sequence[str], batch_size: int = 64,
                    reuse_prefix: bool = True) -> np.ndarray:
        """An (n, 4) array of label probabilities, columns in LABELS order: the screen's for
        the messages it is sure of, else the LM's blended with it (components.screen; the
        `screen` entry of chatloop.json), or the LM's alone for a model without a screen.

        With `reuse_prefix`, the instruction every prompt starts with is run through the model
        once and its key/value cache reused for each batch (same result; see bench/serving.py).
        """
        return self.score(texts, batch_size, reuse_prefix)[0]

    def score(self, texts: Sequence[str], batch_size: int = 64, reuse_prefix: bool = True,
              deadlines: Sequence[float] | None = None) -> tuple[np.ndarray, list[str]]:
        """(label_probs, who decided each message: `screen`, `lm` or `late`).

        `deadlines` (time.perf_counter() values, one per text) bound the wait under load: the
        LM takes the messages the screen is unsure of shortest first, `batch_size` at a time,
        and one whose deadline has passed before its batch starts keeps the screen's
        probabilities (`late`). A model without a screen always runs the LM."""
        if deadlines is not None and len(deadlines) != len(texts):
            raise ValueError(f"{len(deadlines)} deadlines for {len(texts)} texts")
        if self.screen is None:
            self.counts["lm"] += len(texts)
            return self.lm_probs(texts, batch_size, reuse_prefix), ["lm"] * len(texts)
        from components.screen import combine
        cfg = self.meta["screen"]

        def lm(rows):
            chosen = [texts[i] for i in rows]
            if deadlines is None:
                return self.lm_probs(chosen, batch_size, reuse_prefix)
            return self._lm_probs_until(chosen, [deadlines[i] for i in rows], batch_size,
                                        reuse_prefix)

        screen_probs = self.screen.probs([self.prepare(t) for t in texts])
        probs, used = combine(screen_probs, lm, float(cfg["confidence"]), float(cfg["weight"]))
        sure = screen_probs.max(1) >= float(cfg["confidence"])
        by = ["lm" if u else "screen" if s else "late" for u, s in zip(used, sure)]
        for name in ("lm", "screen", "late"):
            self.counts[name] += by.count(name)
        return probs, by

    def _lm_probs_until(self, texts: Sequence[str], deadlines: Sequence[float], batch_size: int,
                        reuse_prefix: bool) -> np.ndarray:
        """lm_probs for the texts whose batch starts before their deadline; NaN rows for the
        rest. Shortest first: the most messages the time allows."""
        import time
        out = np.full((len(texts), len(LABELS)), np.nan, dtype=np.float32)
        waiting = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        while waiting:
            now = time.perf_counter()
            waiting = [i for i in waiting if deadlines[i] > now]
            batch, waiting = waiting[:batch_size], waiting[batch_size:]
            if batch:
                out[batch] = self.lm_probs([texts[i] for i in batch], batch_size, reuse_prefix)
        return out

    def lm_probs(self, texts: Sequence[str], batch_size: int = 64,
                 reuse_prefix: bool = True) -> np.ndarray:
        """The LM's label probabilities alone: the mean over this model and its ensemble
        members (answers come from this model alone)."""
        probs = self._own_label_probs(texts, batch_size, reuse_prefix)
        for member in self.members:
            probs += member._own_label_probs(texts, batch_size, reuse_prefix)
        return probs / (1 + len(self.members))

    def decide(self, probs) -> str:
        """The label for one row of label probabilities, with this model's min_flag."""
        return decide(probs, self.min_flag)

    def classify_prompt(self, text: str) -> str:
        """The prompt text the model scores for a message as sent: prepared as in training
        (`normalize` in chatloop.json), then the classification instruction."""
        return render_prompt(self.tokenizer, classify_messages(self.prepare(text)))

    def _own_label_probs(self, texts: Sequence[str], batch_size: int, reuse_prefix: bool) -> np.ndarray:
        import torch
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        prompts = [self.classify_prompt(t) for t in texts]
        # Sorting by length keeps padding (wasted compute) small inside each batch.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                batch = [prompts[i] for i in idx]
                hidden = (self._last_hidden_cached(batch) if reuse_prefix else None)
                if hidden is None:
                    hidden = self.model.model(**self._encode(batch)).last_hidden_state[:, -1]
                # Only the four label rows of the output layer: the full vocabulary (262k
                # for Gemma 3) would cost more than the whole transformer per message.
                logits = (hidden @ self.model.lm_head.weight[self.label_ids].T).float()
                if getattr(self.model.config, "final_logit_softcapping", None):
                    cap = self.model.config.final_logit_softcapping
                    logits = torch.tanh(logits / cap) * cap
                out[idx] = torch.softmax(logits, -1).cpu().numpy()
        return out

    def _shared_prefix(self):
        """(token ids every classification prompt starts with, their key/value cache)."""
        import os.path
        if self._prefix is None:
            probes = [self.tokenizer(render_prompt(self.tokenizer, classify_messages(t)),
                                     add_special_tokens=False)["input_ids"] for t in ("가", "ab")]
            ids = os.path.commonprefix(probes)[:-1]  # keep a token of margin before the message
            import torch
            prefix = torch.tensor([ids], device=self.device)
            cache = self.model.model(input_ids=prefix, use_cache=True).past_key_values
            self._prefix = (ids, cache)
        return self._prefix

    def _last_hidden_cached(self, prompts: Sequence[str]):
        """Last-token hidden states computed on top of the cached prefix, or None when a
        prompt does not start with it (then the caller runs the whole prompt)."""
        import copy

        import torch
        ids, cache = self._shared_prefix()
        rows = self.tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
        if not ids or any(row[:len(ids)] != ids for row in rows):
            return None
        tails = [row[len(ids):] for row in rows]
        width = max(len(t) for t in tails)
        pad = self.tokenizer.pad_token_id
        # Right padding after the prefix: real tokens never attend to the pads behind them.
        input_ids = torch.tensor([t + [pad] * (width - len(t)) for t in tails], device=self.device)
        tail_mask = torch.tensor([[1] * len(t) + [0] * (width - len(t)) for t in tails],
                                 device=self.device)
        mask = torch.cat([torch.ones(len(tails), len(ids), dtype=tail_mask.dtype,
                                     device=self.device), tail_mask], 1)
        positions = (len(ids) + torch.arange(width, device=self.device)).expand(len(tails), -1)
        past = copy.deepcopy(cache)
        past.batch_repeat_interleave(len(tails))
        hidden = self.model.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                                  past_key_values=past, use_cache=True).last_hidden_state
        last = tail_mask.sum(1) - 1
        return hidden[torch.arange(len(tails), device=self.device), last]

    def classify(self, texts: Sequence[str], batch_size: int = 64) -> list[dict]:
        """[{label, probs: {label: p}, confidence}] in input order."""
        probs = self.label_probs(texts, batch_size)
        result = []
        for row in probs:
            label = self.decide(row)
            result.append({"label": label,
                           "probs": {lb: round(float(p), 6) for lb, p in zip(LABELS, row)},
                           "confidence": float(row[LABELS.index(label)])})
        return result

    def generate(self, messages_batch: Sequence[list[dict]], max_new_tokens: int = 40,
                 between_steps=None) -> list[str]:
        """Greedy answers for a batch of chat-message lists; `between_steps()` is called after
        every generated token (serving.model_worker runs waiting decisions there)."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class Yield(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                between_steps()
                return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        extra = {"stopping_criteria": StoppingCriteriaList([Yield()])} if between_steps else {}
        prompts = [render_prompt(self.tokenizer, m) for m in messages_batch]
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        stop = [self.tokenizer.convert_tokens_to_ids("<end_of_turn>"), self.tokenizer.eos_token_id]
        with torch.inference_mode():
            out = self.model.generate(**{k: v.to(self.device) for k, v in batch.items()},
                                      max_new_tokens=max_new_tokens, do_sample=False,
                                      eos_token_id=[s for s in stop if s is not None],
                                      pad_token_id=self.tokenizer.pad_token_id, **extra)
        new = out[:, batch["input_ids"].shape[1]:]
        return [self.tokenizer.decode(row, skip_special_tokens=True).strip() for row in new]

    def answer(self, question: str, card: str = "", recent: Sequence[str] = (),
               max_new_tokens: int = 40, between_steps=None) -> str:
        """A short answer to a viewer's question, from the channel card and recent chat."""
        return self.generate([answer_messages(question, card, recent)], max_new_tokens,
                             between_steps)[0]
