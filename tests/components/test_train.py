"""train: the completion-only loss is the model's own loss, computed at fewer positions."""
import torch

from components.train import completion_loss


def test_completion_loss_equals_the_models_own_loss(tmp_path, fast_params):
    from transformers import AutoModelForCausalLM
    from components.tiny import build_tiny_base
    cfg = {**fast_params["model"]["tiny"], "vocab_size": 300, "hidden_size": 32,
           "intermediate_size": 64, "num_hidden_layers": 1,
           "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
           "max_position_embeddings": 64}
    path = build_tiny_base(["방송 재밌다 ㅋㅋ", "몇 시까지 해요?", "구독 눌렀어요"] * 5, tmp_path / "b", cfg)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
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
