"""The default base model on one machine: a tiny random-init Gemma2 with a tokenizer trained
on the training texts, saved as a directory that `from_pretrained` loads like a hub id.

It stands in for `google/gemma-2-2b-it` where no weights can be downloaded: same
architecture class, same chat template, same code path in training and serving.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from components.labels import CHAT_TEMPLATE, LABELS, TURN_TOKENS

SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>", *TURN_TOKENS]


def build_tokenizer(texts: Iterable[str], vocab_size: int, unit: str = "bpe"):
    """A byte-level BPE tokenizer trained on `texts`, with Gemma's special tokens.

    `unit`: `bpe` merges bytes into frequent words and word pieces; `char` never merges
    across a character, so a token is at most one character (a Hangul syllable), rarer
    characters falling back to their bytes. Every label is one added token, so a label is
    always a single token after the prompt and scoring needs one forward pass.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if unit not in ("bpe", "char"):
        raise ValueError(f"model.tiny.tokenizer must be 'bpe' or 'char', got {unit!r}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False) if unit == "bpe" else \
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex("."), behavior="isolated"),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>",
                                   bos_token="<bos>", unk_token="<unk>",
                                   additional_special_tokens=list(TURN_TOKENS))
    fast.add_tokens(list(LABELS))
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"
    return fast


def build_tiny_base(texts: list[str], out_dir: str | Path, cfg: dict, seed: int = 13) -> Path:
    """Train the tokenizer, create a random-init Gemma2 of size `cfg`, save both to `out_dir`."""
    import torch
    from transformers import Gemma2Config, Gemma2ForCausalLM

    from components.labels import ANSWER_INSTRUCTION, CLASSIFY_INSTRUCTION

    corpus = list(texts) + [CLASSIFY_INSTRUCTION, ANSWER_INSTRUCTION] * 20
    tokenizer = build_tokenizer(corpus, int(cfg["vocab_size"]), cfg["tokenizer"])
    torch.manual_seed(seed)
    config = Gemma2Config(
        vocab_size=len(tokenizer),
        hidden_size=int(cfg["hidden_size"]),
        intermediate_size=int(cfg["intermediate_size"]),
        num_hidden_layers=int(cfg["num_hidden_layers"]),
        num_attention_heads=int(cfg["num_attention_heads"]),
        num_key_value_heads=int(cfg["num_key_value_heads"]),
        head_dim=int(cfg["head_dim"]),
        max_position_embeddings=int(cfg["max_position_embeddings"]),
        sliding_window=int(cfg["max_position_embeddings"]),
        attn_logit_softcapping=None,  # exact under SDPA
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.convert_tokens_to_ids("<end_of_turn>"),
        tie_word_embeddings=True,
    )
    model = Gemma2ForCausalLM(config)
    init = cfg["init_embeddings"]
    if init == "cooccurrence":
        vectors, seen = cooccurrence_vectors(tokenizer, texts, config.hidden_size,
                                             config.initializer_range)
        with torch.no_grad():
            model.get_input_embeddings().weight[seen] = vectors[seen]
    elif init != "random":
        raise ValueError(f"model.tiny.init_embeddings must be 'random' or 'cooccurrence', got {init!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def cooccurrence_vectors(tokenizer, texts: list[str], dim: int, std: float, window: int = 4):
    """(vectors, seen): token vectors from the training texts' co-occurrence statistics, a
    count-based pre-training that takes seconds: positive PMI of tokens within `window` of
    each other (weighted 1/distance, context counts smoothed with the 0.75 power), reduced
    to `dim` by truncated SVD, scaled to the random init's `std`. `seen` marks the tokens
    that occur (the others, labels and special tokens among them, keep their random init).
    """
    import numpy as np
    import torch

    size = len(tokenizer)
    pairs: list = []
    weights: list = []
    for row in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        ids = np.asarray(row, dtype=np.int64)
        for gap in range(1, min(window, len(ids) - 1) + 1):
            pairs.append(ids[:-gap] * size + ids[gap:])
            weights.append(np.full(len(ids) - gap, 1.0 / gap))
    counts = np.bincount(np.concatenate(pairs), np.concatenate(weights),
                         minlength=size * size).reshape(size, size)
    counts += counts.T
    word = counts.sum(1)
    context = word ** 0.75
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts * context.sum() / np.outer(word, context))
    ppmi = torch.from_numpy(np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)).float()
    with torch.random.fork_rng():   # svd_lowrank's random start; leave the caller's seed alone
        torch.manual_seed(0)
        u, s, _ = torch.svd_lowrank(ppmi, q=dim, niter=4)
    vectors = u * s.sqrt()
    seen = torch.from_numpy(word > 0)
    vectors = vectors / vectors[seen].std() * std
    return vectors, seen


def pretrain_tiny_base(base_dir: str | Path, texts: list[str], cfg: dict, seed: int = 13) -> dict:
    """A short causal-LM pass (all weights) over the training texts, saved in place.

    A random-init base knows nothing of Korean; LoRA alone can only nudge it. This teaches
    the whole model the chat texts first (packed 128-token blocks, AdamW, linear decay), so
    the SFT starts from useful representations. `cfg`: pretrain_epochs, pretrain_lr,
    pretrain_batch_size.
    """
    import time

    import torch
    from transformers import AutoTokenizer, Gemma2ForCausalLM

    epochs = float(cfg["pretrain_epochs"])
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    model = Gemma2ForCausalLM.from_pretrained(str(base_dir))
    ids: list[int] = []
    for text in texts:
        ids += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    block = 128
    blocks = torch.tensor(ids[: len(ids) // block * block]).view(-1, block)
    batch = int(cfg["pretrain_batch_size"])
    steps = max(1, int(epochs * len(blocks) / batch))
    opt = torch.optim.AdamW(model.parameters(), lr=float(cfg["pretrain_lr"]),
                            weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.05 * steps + 1))
                                              * max(0.0, 1 - s / steps))
    gen = torch.Generator().manual_seed(seed)
    model.train()
    started, losses, step = time.time(), [], 0
    while step < steps:
        for idx in torch.randperm(len(blocks), generator=gen).split(batch):
            if step >= steps:
                break
            loss = model(input_ids=blocks[idx], labels=blocks[idx]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(loss.item())
            step += 1
    model.save_pretrained(str(base_dir))
    tail = losses[-20:]
    return {"pretrain_steps": steps, "pretrain_tokens": int(blocks.numel() * epochs),
            "pretrain_loss": round(sum(tail) / len(tail), 4),
            "pretrain_seconds": round(time.time() - started, 2)}
