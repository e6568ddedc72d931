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


def build_tokenizer(texts: Iterable[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on `texts`, with Gemma's special tokens.

    Every label is one added token, so a label is always a single token after the prompt
    and scoring needs one forward pass.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
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
    tokenizer = build_tokenizer(corpus, int(cfg["vocab_size"]))
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
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
