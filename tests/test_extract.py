import torch

from powerbert.algorithm.extract import (
    SoftExtract,
    hard_extract,
    ranks_from_scores,
    select_kept,
)


def test_select_kept_forces_cls_first_then_rank_order():
    scores = torch.tensor([[0.0, 5.0, 1.0, 9.0, 3.0]])
    assert select_kept(scores, 3).tolist() == [[0, 3, 1]]  # [CLS], then the two best, best first


def test_hard_extract_gathers_vectors_and_mask():
    hidden = torch.arange(2 * 5, dtype=torch.float).view(2, 5, 1).expand(2, 5, 3).contiguous()
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]])
    scores = torch.tensor([[0.0, 1.0, 4.0, 2.0, 3.0], [0.0, 1.0, -1.0, -1.0, -1.0]])
    positions = torch.arange(5).expand(2, 5)
    kept_mask, kept, kept_positions, nothing = hard_extract(mask, scores, 3, hidden, positions, None)
    assert nothing is None
    assert kept.shape == (2, 3, 3)
    # original positions travel with the vectors (the short input's third slot is any of its padding)
    assert kept_positions[0].tolist() == [0, 2, 4] and kept_positions[1, :2].tolist() == [0, 1]
    assert kept[0, :, 0].tolist() == [0.0, 2.0, 4.0]  # positions 0, 2, 4: [CLS], then by score
    # the short input keeps both its real tokens, then padding; the mask stays right-padded
    assert kept[1, :2, 0].tolist() == [5.0, 6.0]
    assert kept_mask.tolist() == [[1, 1, 1], [1, 1, 0]]


def test_soft_extract_scales_the_vector_ranked_i_by_r_i():
    soft = SoftExtract(size=4)
    with torch.no_grad():
        soft.retention.copy_(torch.tensor([1.0, 0.5, 0.25, 0.0]))
    hidden = torch.ones(1, 4, 2)
    scores = torch.tensor([[3.0, 1.0, 4.0, 2.0]])  # ranks: 1, 3, 0, 2
    assert ranks_from_scores(scores).tolist() == [[1, 3, 0, 2]]
    out = soft(hidden, scores)
    assert out[0, :, 0].tolist() == [0.5, 0.0, 1.0, 0.25]


def test_soft_extract_clip_projects_onto_unit_interval():
    soft = SoftExtract(size=3)
    with torch.no_grad():
        soft.retention.copy_(torch.tensor([1.7, 0.4, -0.2]))
    soft.clip_()
    assert soft.retention.tolist() == [1.0, 0.4000000059604645, 0.0]
    assert abs(soft.mass() - 1.4) < 1e-6


def test_hard_extract_without_mask_keeps_the_best_rows_of_each_input():
    hidden = torch.randn(3, 6, 4)
    scores = torch.rand(3, 6)
    scores[:, 0] = -1.0  # [CLS] scores lowest
    kept_mask, kept = hard_extract(None, scores, 4, hidden)
    assert kept_mask is None
    index = select_kept(scores, 4)
    assert torch.equal(index[:, 0], torch.zeros(3, dtype=torch.long))  # [CLS] always, even if it scores lowest
    assert torch.equal(kept, torch.stack([hidden[b, index[b]] for b in range(3)]))


def test_the_exported_gather_operator_takes_each_inputs_own_rows():
    """gather_rows, what Extract becomes in an exported graph (one GatherND), takes each input's own rows."""
    from powerbert.algorithm.extract import gather_rows

    hidden, mask = torch.randn(3, 6, 4), torch.randint(0, 2, (3, 6))
    index = torch.tensor([[0, 2, 5], [0, 1, 3], [0, 4, 5]])
    for values in (hidden, mask):
        assert torch.equal(gather_rows(values, index), torch.stack([values[b, index[b]] for b in range(3)]))

