"""train: the completion-only loss is the model's own loss, computed at fewer positions."""
import pytest
import torch

from components.train import completion_loss, shared_prefix_length


def tiny_gemma2(tmp_path, fast_params):
    from transformers import AutoModelForCausalLM
    from components.tiny import build_tiny_base
    cfg = {**fast_params["model"]["tiny"], "vocab_size": 300, "hidden_size": 32,
           "intermediate_size": 64, "num_hidden_layers": 1,
           "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
           "max_position_embeddings": 64}
    path = build_tiny_base(["방송 재밌다 ㅋㅋ", "몇 시까지 해요?", "구독 눌렀어요"] * 5, tmp_path / "b", cfg)
    return AutoModelForCausalLM.from_pretrained(path)


def tiny_gemma3(tmp_path, fast_params):
    """Gemma 3's layout (the default base's: sliding and global layers, query/key norms)."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig
    torch.manual_seed(1)
    return Gemma3ForCausalLM(Gemma3TextConfig(
        vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=8,
        layer_types=["sliding_attention", "full_attention"], max_position_embeddings=64,
        final_logit_softcapping=30.0))


def test_completion_loss_equals_the_models_own_loss(tmp_path, fast_params):
    model = tiny_gemma2(tmp_path, fast_params).eval()
    assert model.config.final_logit_softcapping           # the capped path is exercised
    torch.manual_seed(0)
    ids = torch.randint(5, 300, (3, 12))
    labels = ids.clone()
    labels[:, :8] = -100                                   # the prompt
    labels[1, 8:10] = -100                                 # a shorter completion
    mask = torch.ones_like(ids)
    with torch.no_grad():
        ours = completion_loss(model, {"input_ids": ids, "attention_mask": mask, "labels": labels})
        theirs = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        summed = completion_loss(model, {"input_ids": ids, "labels": labels}, count=1)
    assert torch.allclose(ours, theirs, atol=1e-5), (ours, theirs)
    assert torch.allclose(summed, theirs * (labels[:, 1:] != -100).sum(), atol=1e-3)


def test_shared_prefix_length_stops_before_padding_and_completions():
    ids = torch.tensor([[1, 2, 3, 4, 5, 0], [1, 2, 3, 9, 0, 0]])
    mask = (ids != 0).long()
    labels = torch.full_like(ids, -100)
    assert shared_prefix_length(ids, labels, mask) == 3
    labels[0, 3] = 4                      # a completion token right after the shared part
    assert shared_prefix_length(ids, labels, mask) == 2
    assert shared_prefix_length(torch.tensor([[7, 1], [8, 1]]), torch.full((2, 2), -100)) == 0


@pytest.mark.parametrize("make", [tiny_gemma2, tiny_gemma3])
def test_the_shared_prefix_runs_once_with_the_same_loss_and_gradients(tmp_path, fast_params, make):
    """Right-padded rows that share an instruction, LoRA on every projection: the loss and
    the adapter's gradients with the prefix run once equal those of the full rows."""
    from peft import LoraConfig, get_peft_model
    model = get_peft_model(make(tmp_path, fast_params), LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                           "up_proj", "down_proj"], init_lora_weights=False))
    torch.manual_seed(0)
    prefix = torch.randint(5, 300, (9,))
    rows = [torch.randint(5, 300, (n,)) for n in (6, 3, 8)]
    width = 9 + max(len(r) for r in rows)
    ids = torch.zeros(3, width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for i, row in enumerate(rows):
        n = 9 + len(row)
        ids[i, :n] = torch.cat([prefix, row])
        mask[i, :n] = 1
        labels[i, n - 2:n] = ids[i, n - 2:n]           # a two-token completion at each end
    inputs = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    assert shared_prefix_length(ids, labels, mask) == 9

    def loss_and_grads(reuse):
        model.zero_grad()
        loss = completion_loss(model, inputs, reuse_prefix=reuse)
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                               if p.requires_grad}

    full, full_grads = loss_and_grads(False)
    shared, shared_grads = loss_and_grads(True)
    assert torch.allclose(shared, full, atol=1e-5), (shared, full)
    assert full_grads.keys() == shared_grads.keys() and full_grads
    for name, grad in full_grads.items():
        assert torch.allclose(shared_grads[name], grad, atol=1e-5, rtol=1e-4), name


@pytest.mark.parametrize("top, adapted", [(0, {0, 1}), (1, {1}), (2, {0, 1}), (5, {0, 1})])
def test_adapters_on_the_top_layers_only(tmp_path, fast_params, top, adapted):
    """`train.lora.layers`: adapters on the top N layers (0, or N at least the depth: all);
    the layers below get no gradient at all, so the backward pass stops above them."""
    from peft import get_peft_model
    from components.config import load_params
    from components.train import lora_config
    params = load_params(overrides=[f"train.lora.layers={top}"])   # no whole modules trained
    base = tiny_gemma3(tmp_path, fast_params)
    model = get_peft_model(base, lora_config(params, base))
    layers = {int(name.split(".layers.")[1].split(".")[0])
              for name, _ in model.named_parameters() if "lora_A" in name}
    assert layers == adapted
    reached = set()

    def watch(i):
        def hook(module, args, out):
            hidden = out[0] if isinstance(out, tuple) else out
            if hidden.requires_grad:
                hidden.register_hook(lambda grad: reached.add(i))
        return hook
    for i, layer in enumerate(base.model.layers):
        layer.register_forward_hook(watch(i))
    model(input_ids=torch.randint(5, 300, (2, 6))).logits.sum().backward()
    assert reached == adapted          # no gradient flows through a layer below the adapters


def test_weights_load_in_the_compute_dtype_unless_whole_modules_train_on_a_cpu():
    from components.train import weights_dtype
    assert weights_dtype("cpu", True, False) == torch.bfloat16
    assert weights_dtype("cpu", True, True) == torch.float32
    assert weights_dtype("cuda", True, True) == torch.bfloat16
    assert weights_dtype("cpu", False, False) == torch.float32


@pytest.mark.parametrize("whole, weights, top", [("[]", "bfloat16", 1), ("[embed_tokens]", "float32", 0)])
def test_bfloat16_training_keeps_a_float32_adapter(tmp_path, sample_splits, whole, weights, top):
    """bfloat16 compute: the base trains in bfloat16 unless whole modules train on a CPU; the
    adapter trains and is saved in float32 either way (its updates keep their precision), and
    the model scores every message (also with adapters on the top layer only)."""
    from safetensors.torch import load_file
    from components.config import load_params
    from components.model import ChatModel
    from components.train import train
    params = load_params(profile="tiny", overrides=[
        "model.dtype=bfloat16", f"train.lora.modules_to_save={whole}", "train.max_steps=3",
        f"train.lora.layers={top}",
        "train.answer_ratio=0", "model.screen.enabled=false"])
    summary = train(sample_splits, tmp_path / "m", params)
    assert summary["weights_dtype"] == weights and summary["train_loss"] > 0
    saved = load_file(tmp_path / "m" / "adapter" / "adapter_model.safetensors")
    lora = {name: w.dtype for name, w in saved.items() if "lora_" in name}
    assert lora and set(lora.values()) == {torch.float32}
    assert top == 0 or not any(".layers.0." in name for name in lora)
    probs = ChatModel.load(tmp_path / "m").label_probs(["몇 시까지 해요?", "ㅋㅋ"])
    assert probs.shape == (2, 4) and abs(float(probs.sum()) - 2) < 1e-3
