import torch

from bielik.pretrain import PackedCollator, block_causal_mask, mean_loss, pack


def tiny_model(vocab=300):
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    cfg = MistralConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, sliding_window=None)
    return MistralForCausalLM(cfg).eval()


def test_pack_lays_documents_end_to_end_and_restarts_positions():
    rows = pack([[1, 5, 6, 2], [1, 7, 2], [1, 8, 9, 10, 11, 2]], seq_len=5)
    assert [r["input_ids"] for r in rows] == [[1, 5, 6, 2, 1], [7, 2, 1, 8, 9]]  # the tail [10, 11, 2] is dropped
    assert rows[0]["position_ids"] == [0, 1, 2, 3, 0] and rows[0]["segments"] == [0, 0, 0, 0, 1]
    assert rows[1]["position_ids"] == [0, 1, 0, 1, 2] and rows[1]["segments"] == [0, 0, 1, 1, 1]


def test_mask_is_block_diagonal_and_causal():
    m = block_causal_mask(torch.tensor([[0, 0, 1, 1]]))[0, 0] == 0
    assert m.tolist() == [[True, False, False, False], [True, True, False, False],
                          [False, False, True, False], [False, False, True, True]]


def test_labels_skip_each_documents_first_token():
    batch = PackedCollator()(pack([[1, 5, 6, 2], [1, 7, 2]], seq_len=7))
    assert batch["labels"].tolist() == [[-100, 5, 6, 2, -100, 7, 2]]
    assert batch["attention_mask"].shape == (1, 1, 7, 7)


def test_a_packed_forward_pass_equals_separate_ones():
    model = tiny_model()
    a, b = [1, 17, 40, 99, 2], [1, 250, 3, 8, 77, 12, 2]
    batch = PackedCollator()(pack([a, b], seq_len=len(a) + len(b)))
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                       attention_mask=batch["attention_mask"]).logits[0]
        alone_a = model(input_ids=torch.tensor([a])).logits[0]
        alone_b = model(input_ids=torch.tensor([b])).logits[0]
    assert torch.allclose(packed[: len(a)], alone_a, atol=1e-5)
    assert torch.allclose(packed[len(a):], alone_b, atol=1e-5)
    # without the mask the second document would see the first
    with torch.no_grad():
        leaky = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
    assert not torch.allclose(leaky[len(a):], alone_b, atol=1e-3)


def test_mean_loss_matches_a_hand_computation():
    model = tiny_model()
    doc = [1, 17, 40, 99, 2]
    rows = pack([doc], seq_len=5)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([doc])).logits[0]
    expected = torch.nn.functional.cross_entropy(logits[:-1], torch.tensor(doc[1:])).item()
    assert abs(mean_loss(model, rows) - expected) < 1e-5
