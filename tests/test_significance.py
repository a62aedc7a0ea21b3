import torch

from powerbert.algorithm.significance import PAD_SCORE, significance_scores


def test_scores_on_a_hand_made_attention_matrix():
    # one example, two heads, three tokens; rows are queries
    head_a = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.8, 0.1]])
    head_b = torch.tensor([[0.4, 0.3, 0.3], [0.2, 0.3, 0.5], [0.3, 0.6, 0.1]])
    probs = torch.stack([head_a, head_b])[None]
    mean = (head_a + head_b) / 2
    expected = mean.sum(dim=0) - mean.diagonal()  # attention from the *other* queries
    scores = significance_scores(probs, torch.ones(1, 3))
    torch.testing.assert_close(scores[0], expected)
    assert scores[0].argmax() == 1  # token 1 receives most attention from the others


def test_padded_queries_add_nothing_and_padded_keys_rank_last():
    probs = torch.full((1, 1, 4, 4), 0.25)
    mask = torch.tensor([[1, 1, 1, 0]])
    scores = significance_scores(probs, mask)[0]
    # each real key gets 0.25 from the two other real queries; the padded query row is ignored
    torch.testing.assert_close(scores[:3], torch.full((3,), 0.5))
    assert scores[3] == PAD_SCORE
    assert scores[3] < scores[:3].min()


def test_no_mask_gives_the_same_scores_as_a_mask_of_ones():
    probs = torch.softmax(torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(1)), dim=-1)
    torch.testing.assert_close(significance_scores(probs, None), significance_scores(probs, torch.ones(2, 5)))
