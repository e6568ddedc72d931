"""Offline bases: GGUF -> transformers conversion, preparing, resolving and verifying a base.

The real base is a ~250 MB Gemma 3 GGUF; these tests write a tiny Gemma 3 GGUF themselves
(gguf.GGUFWriter, llama.cpp tensor names and metadata keys, a SentencePiece-style vocabulary)
and run the same `convert_gguf` on it, so the whole transformers GGUF path is exercised:
metadata -> Gemma3TextConfig, vocabulary -> GemmaTokenizer, Q8_0/F16/F32 tensors dequantised,
Gemma's `norm + 1` undone.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from components import base
from components.base import BaseModelError

H, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN = 32, 2, 2, 1, 16, 64
KOREAN = "안녕하세요 오늘 방송 몇 시? 뷁"   # 뷁 is not in the vocabulary: byte fallback
LABEL_WORDS = ("normal", "question", "toxic", "spam")
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}")


def _vocabulary() -> list[tuple[str, int]]:
    """(piece, token type) in file order: specials, the 256 byte pieces, then normal pieces.

    The file has no merges: transformers rebuilds them from the vocabulary (every split of a
    piece into two pieces that exist), so each word comes with all its prefixes."""
    from gguf import TokenType as T
    pieces = [("<pad>", T.CONTROL), ("<eos>", T.CONTROL), ("<bos>", T.CONTROL),
              ("<unk>", T.UNKNOWN), ("<mask>", T.USER_DEFINED),
              ("<start_of_turn>", T.CONTROL), ("<end_of_turn>", T.CONTROL)]
    pieces += [(f"<0x{b:02X}>", T.BYTE) for b in range(256)]
    seen = {piece for piece, _ in pieces}

    def add(piece):
        if piece not in seen:
            seen.add(piece)
            pieces.append((piece, T.NORMAL))

    for piece in ["\n", "▁", *"abcdefghijklmnopqrstuvwxyz?!.,:"]:
        add(piece)
    for word in ("user", "model", *LABEL_WORDS):
        for end in range(1, len(word) + 1):
            add(word[:end])
            add("▁" + word[:end])
    for piece in [*"안녕하세요오늘방송몇시", "안녕", "하세", "하세요"]:
        add(piece)
    return [(piece, int(kind)) for piece, kind in pieces]


def write_tiny_gemma3_gguf(path) -> dict[str, np.ndarray]:
    """A 2-layer Gemma 3 GGUF at `path`; returns {gguf tensor name: float32 values it holds}."""
    import gguf
    from gguf import GGMLQuantizationType as Q

    vocab = _vocabulary()
    rng = np.random.default_rng(7)
    writer = gguf.GGUFWriter(str(path), "gemma3")
    writer.add_name("chatloop tiny gemma3")
    writer.add_context_length(128)
    writer.add_embedding_length(H)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_key_length(HEAD_DIM)
    writer.add_value_length(HEAD_DIM)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(10000.0)
    writer.add_sliding_window(64)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([piece for piece, _ in vocab])
    writer.add_token_scores([-float(i) for i in range(len(vocab))])
    writer.add_token_types([kind for _, kind in vocab])
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(1)
    writer.add_unk_token_id(3)
    writer.add_pad_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    held: dict[str, np.ndarray] = {}

    def dense(*shape):
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    def f32(name, values):
        writer.add_tensor(name, values)
        held[name] = values

    # Q8_0 embedding: transformers must dequantise it (it holds the dequantised values, which
    # differ from `table` by up to half a quantisation step).
    table = dense(len(vocab), H)
    packed = gguf.quants.quantize(table, Q.Q8_0)
    writer.add_tensor("token_embd.weight", packed, raw_dtype=Q.Q8_0)
    held["token_embd.weight"] = gguf.quants.dequantize(packed, Q.Q8_0).reshape(len(vocab), H)
    for i in range(LAYERS):
        p = f"blk.{i}."
        f32(p + "attn_q.weight", dense(HEADS * HEAD_DIM, H))
        f32(p + "attn_k.weight", dense(KV_HEADS * HEAD_DIM, H))
        f32(p + "attn_v.weight", dense(KV_HEADS * HEAD_DIM, H))
        out_proj = dense(H, HEADS * HEAD_DIM).astype(np.float16)          # an F16 tensor
        writer.add_tensor(p + "attn_output.weight", out_proj)
        held[p + "attn_output.weight"] = out_proj.astype(np.float32)
        # llama.cpp stores Gemma RMSNorm weights as 1 + w; transformers subtracts the 1 again.
        f32(p + "attn_q_norm.weight", 1 + dense(HEAD_DIM))
        f32(p + "attn_k_norm.weight", 1 + dense(HEAD_DIM))
        for norm in ("attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"):
            f32(p + norm + ".weight", 1 + dense(H))
        f32(p + "ffn_gate.weight", dense(FFN, H))
        f32(p + "ffn_up.weight", dense(FFN, H))
        f32(p + "ffn_down.weight", dense(H, FFN))
    f32("output_norm.weight", 1 + dense(H))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return held


def expected_hf_weights(held: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The transformers parameters the GGUF tensors become (gemma3 -> Gemma3ForCausalLM).

    transformers' gemma3 GGUF path (Gemma2TensorProcessor) undoes llama.cpp's `norm + 1`
    and applies no q/k row permutation (that is the llama path only), so q/k compare as-is."""
    names = {"token_embd.weight": "model.embed_tokens.weight",
             "output_norm.weight": "model.norm.weight"}
    per_layer = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
                 "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
                 "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
                 "attn_norm": "input_layernorm", "post_attention_norm": "post_attention_layernorm",
                 "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm",
                 "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    for i in range(LAYERS):
        for gguf_name, hf_name in per_layer.items():
            names[f"blk.{i}.{gguf_name}.weight"] = f"model.layers.{i}.{hf_name}.weight"
    assert set(names) == set(held)
    return {hf: held[g] - np.float32(1) if g.endswith("norm.weight") else held[g]
            for g, hf in names.items()}


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    path = tmp_path_factory.mktemp("gguf") / "tiny-gemma3.gguf"
    held = write_tiny_gemma3_gguf(path)
    return path, held


@pytest.fixture(scope="module")
def converted(tiny_gguf, tmp_path_factory):
    gguf_path, _ = tiny_gguf
    out = tmp_path_factory.mktemp("bases") / "tiny"
    info = base.convert_gguf(gguf_path, out)
    return out, info


def test_converted_folder_loads_as_plain_bfloat16_checkpoint(converted):
    import torch
    from transformers import AutoModelForCausalLM
    out, info = converted
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["model_type"] == "gemma3_text"
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"],
            config["num_key_value_heads"], config["head_dim"], config["intermediate_size"]) == \
        (H, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN)
    assert not list(out.glob("*.gguf"))
    model = AutoModelForCausalLM.from_pretrained(str(out))
    assert type(model).__name__ == info["architecture"] == "Gemma3ForCausalLM"
    assert getattr(model, "hf_quantizer", None) is None
    assert getattr(model.config, "quantization_config", None) is None
    assert model.dtype == torch.bfloat16
    assert info["parameters"] == sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        logits = model(torch.tensor([[2, 5, 300, 301, 6]])).logits
    assert logits.shape == (1, 5, config["vocab_size"]) and torch.isfinite(logits).all()


def test_converted_weights_equal_the_gguf_tensors(tiny_gguf, converted):
    import torch
    from safetensors.torch import load_file
    _, held = tiny_gguf
    out, _ = converted
    saved = load_file(str(out / base.WEIGHTS))
    expected = expected_hf_weights(held)
    missing = set(expected) - set(saved)
    assert not missing, f"not in {base.WEIGHTS}: {sorted(missing)}"
    for name, values in expected.items():
        assert saved[name].dtype == torch.bfloat16, name
        torch.testing.assert_close(saved[name].float(), torch.from_numpy(values),
                                   rtol=2 ** -8, atol=1e-8, msg=lambda m, name=name: f"{name}: {m}")


def test_converted_tokenizer_round_trips_korean_and_keeps_chat_pieces(converted):
    from transformers import AutoTokenizer
    from components.labels import LABELS
    from components.model import label_token_ids
    out, _ = converted
    tok = AutoTokenizer.from_pretrained(str(out))
    ids = tok(KOREAN, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == KOREAN
    assert tok.unk_token_id not in ids
    assert tok.convert_ids_to_tokens(ids)[:2] == ["안녕", "하세요"]
    assert tok(KOREAN)["input_ids"][0] == tok.bos_token_id == 2
    for piece in ("<start_of_turn>", "<end_of_turn>"):
        assert len(tok(piece, add_special_tokens=False)["input_ids"]) == 1, piece
    assert set(LABELS) == set(LABEL_WORDS)
    label_ids = label_token_ids(tok)                  # the chat template travelled too
    assert tok.convert_ids_to_tokens(label_ids) == list(LABELS)


def test_returned_hashes_are_of_the_written_files(tiny_gguf, converted):
    gguf_path, _ = tiny_gguf
    out, info = converted
    assert info["weights_sha256"] == sha256(out / base.WEIGHTS)
    assert info["gguf_sha256"] == sha256(gguf_path)
    assert info["weights_sha256"] != info["gguf_sha256"]


@pytest.mark.parametrize("damage", ["truncated-tensors", "truncated-header", "not-gguf"])
def test_corrupt_gguf_raises_and_leaves_no_output(tiny_gguf, tmp_path, damage):
    data = tiny_gguf[0].read_bytes()
    broken = {"truncated-tensors": data[:len(data) - 1000],
              "truncated-header": data[:100],
              "not-gguf": b"this is not a gguf file\n" * 64}[damage]
    bad = tmp_path / "in" / "model.gguf"
    bad.parent.mkdir()
    bad.write_bytes(broken)
    out = tmp_path / "bases" / "broken"
    with pytest.raises(Exception):
        base.convert_gguf(bad, out)
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())   # no half-written temp dir


def test_prepare_unknown_base_names_the_known_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path))
    with pytest.raises(BaseModelError, match="no-such-base") as err:
        base.prepare("no-such-base")
    for name in base.OFFLINE_BASES:
        assert name in str(err.value)
    assert "gemma3-270m" in str(err.value)


def _fake_prepared(home, name="gemma3-270m", weights_sha256="1" * 64):
    folder = home / "bases" / name
    folder.mkdir(parents=True)
    (folder / base.MANIFEST).write_text(json.dumps({"name": name, "weights_sha256": weights_sha256}))
    return folder


def test_verify_refuses_a_base_with_other_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path))
    _fake_prepared(tmp_path)
    with pytest.raises(BaseModelError, match="chatloop base prepare gemma3-270m") as err:
        base.verify({"name": "gemma3-270m", "sha256": "0" * 64})
    assert "1" * 64 in str(err.value) and "0" * 64 in str(err.value)


def test_verify_accepts_the_base_it_was_trained_on(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path))
    folder = _fake_prepared(tmp_path)
    assert base.verify({"name": "gemma3-270m", "sha256": "1" * 64}) == str(folder)
    assert base.resolve("gemma3-270m") == (str(folder), {"name": "gemma3-270m", "sha256": "1" * 64})


def test_resolve_passes_hub_ids_through(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path))
    assert base.resolve("some/hub-id") == ("some/hub-id", {"name": "some/hub-id"})
    assert base.verify({"name": "some/hub-id"}) == "some/hub-id"
    with pytest.raises(BaseModelError):
        base.resolve("")
