import pytest
import torch
from conftest import NUM_LAYERS, padded_batch, tiny_classifier
from transformers import GPT2Config, GPT2ForSequenceClassification

from powerbert import PowerBertError, PowerConfig, PowerModel, get_power_model


def test_keeping_every_token_gives_the_plain_models_outputs(model_type):
    model = tiny_classifier(model_type)
    ids, mask = padded_batch([12, 7, 3], width=16)  # padded wider than the longest input
    plain = model(input_ids=ids, attention_mask=mask).logits
    power = PowerModel.keep_all(model, max_length=64)(ids, mask).logits
    torch.testing.assert_close(power, plain, rtol=1e-5, atol=1e-6)


def _record_widths(power: PowerModel) -> list[int]:
    """Widths that reach each feed-forward block (patched on this adapter instance only)."""
    widths, feed_forward = [], power.adapter.feed_forward
    power.adapter.feed_forward = lambda layer, hidden: (widths.append(hidden.shape[1]), feed_forward(layer, hidden))[1]
    return widths


def test_each_layer_carries_at_most_the_batchs_longest_min_of_lj_and_length(model_type):
    power = get_power_model(tiny_classifier(model_type), PowerConfig([10, 6, 2]))
    widths = _record_widths(power)
    ids, mask = padded_batch([8, 5], width=20)
    logits = power(ids, mask).logits
    assert logits.shape == (2, 2)
    # longest input 8: l_1 = 10 eliminates nothing, then 6; the last layer keeps [CLS] alone (all the classifier reads)
    assert widths == [8, 6, 1]


def test_batch_of_one_and_inference_mode(model_type):
    power = get_power_model(tiny_classifier(model_type), PowerConfig([9, 4, 1]))
    ids, mask = padded_batch([11])
    with torch.inference_mode():
        out = power(ids, mask).logits
    assert out.shape == (1, 2) and torch.isfinite(out).all()


def test_elimination_keeps_cls_and_the_most_attended_tokens(monkeypatch):
    import powerbert.modeling as modeling

    power = get_power_model(tiny_classifier("bert"), PowerConfig([4, 4, 4]))
    seen = []
    original = modeling.hard_extract
    monkeypatch.setattr(modeling, "hard_extract",
                        lambda m, s, k, *tensors, **kw: (seen.append((tensors, s)), original(m, s, k, *tensors, **kw))[1])
    ids, mask = padded_batch([9])
    power(ids, mask)
    (context, hidden, _, _), scores = seen[0]  # layer 1 eliminates 9 -> 4 (no pooling weights: None)
    top_others = (scores[0, 1:].topk(3).indices + 1).tolist()
    expected_positions = [0] + top_others  # [CLS], then in rank order
    _, kept_context, kept = original(torch.ones(1, 9, dtype=torch.long), scores, 4, context, hidden)
    torch.testing.assert_close(kept[0], hidden[0, expected_positions])
    torch.testing.assert_close(kept_context[0], context[0, expected_positions])


def test_save_and_load_round_trip_gives_the_same_logits(tmp_path, model_type):
    power = get_power_model(tiny_classifier(model_type), PowerConfig([7, 5, 3]))
    ids, mask = padded_batch([10, 4])
    before = power(ids, mask).logits
    power.save_pretrained(tmp_path / "saved")
    loaded = PowerModel.from_pretrained(tmp_path / "saved")
    assert loaded.power_config.retention == [7, 5, 3]
    torch.testing.assert_close(loaded(ids, mask).logits, before)
    assert not (tmp_path / "saved.tmp").exists()


def test_regulariser_weights_layer_j_by_j():
    power = PowerModel.keep_all(tiny_classifier("bert"), 8)
    power.enable_search(8)
    with torch.no_grad():
        for j, soft in enumerate(power.soft_extract):
            soft.retention.fill_(0.5 * (j + 1) / NUM_LAYERS)
    masses = power.retention_masses()
    assert masses == pytest.approx([8 * 0.5 / 3, 8 * 1.0 / 3, 8 * 1.5 / 3])
    assert power.retention_penalty().item() == pytest.approx(sum((j + 1) * m for j, m in enumerate(masses)))


def test_search_mode_multiplies_but_removes_nothing():
    power = PowerModel.keep_all(tiny_classifier("bert"), 16)
    power.enable_search(16)
    widths = _record_widths(power)
    ids, mask = padded_batch([12, 9])
    loss = power(ids, mask, labels=torch.tensor([0, 1])).loss
    loss.backward()
    assert widths == [12, 12, 12]
    assert all(soft.retention.grad is not None for soft in power.soft_extract)


def test_unsupported_model_is_a_clear_error():
    model = GPT2ForSequenceClassification(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50))
    with pytest.raises(PowerBertError, match="not a supported encoder; supported: albert, bert"):
        get_power_model(model, PowerConfig([4]))


def test_configuration_that_does_not_fit_the_model_is_refused():
    with pytest.raises(PowerBertError, match="has 2 values but the model has 3 layers"):
        get_power_model(tiny_classifier("bert"), PowerConfig([4, 2]))


def test_input_longer_than_the_model_is_a_clear_error():
    power = PowerModel.keep_all(tiny_classifier("bert"), 64)
    ids, mask = padded_batch([70])
    with pytest.raises(PowerBertError, match="exceeds the model's limit"):
        power(ids, mask)


def test_left_padding_is_a_clear_error():
    power = PowerModel.keep_all(tiny_classifier("bert"), 64)
    ids, mask = padded_batch([5, 3])
    with pytest.raises(PowerBertError, match="right padding"):
        power(ids, mask.flip(1))


def test_layers_after_only_cls_is_left_give_the_same_logits_as_full_attention(model_type):
    """From the layer that keeps only [CLS] on, attention over that one vector is its value projection:
    the inference shortcut must equal the general path (train mode without dropout runs the general one)."""
    model = tiny_classifier(model_type)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    for key in ("attention_probs_dropout_prob", "attention_dropout"):
        if hasattr(model.config, key):
            setattr(model.config, key, 0.0)
    power = get_power_model(model, PowerConfig([6, 1, 1]))
    ids, mask = padded_batch([9, 4])
    with torch.no_grad():
        fast = power.eval()(ids, mask).logits
        general = power.train()(ids, mask).logits
    torch.testing.assert_close(fast, general, rtol=1e-5, atol=1e-6)


def _kept_positions(power: PowerModel, ids, mask, monkeypatch) -> list[torch.Tensor]:
    """Original positions each layer's Extract keeps, (batch, l_j) per eliminating layer, recorded from the run."""
    import powerbert.algorithm.extract as extract

    chosen, select = [], extract.select_kept
    monkeypatch.setattr(extract, "select_kept", lambda s, k: (chosen.append(select(s, k)), chosen[-1])[1])
    power(ids, mask)
    kept, positions = [], torch.arange(ids.shape[1]).expand(ids.shape[0], -1)
    for index in chosen:
        positions = torch.gather(positions, 1, index)
        kept.append(positions)
    return kept


def _masked_reference(model, ids, mask, kept: list[torch.Tensor]) -> torch.Tensor:
    """The Hugging Face model's own forward with every vector in place, where each vector eliminated before
    a layer is only masked as a key in that layer (hooks on its layers): PoWER's logits must equal these."""
    layers = get_power_model(model, PowerConfig.keep_all(NUM_LAYERS, ids.shape[1])).encoder_layers
    calls = []

    def hook(module, args, kwargs):
        j = len(calls)
        calls.append(j)
        if j == 0:
            return None
        keys = torch.zeros_like(mask, dtype=torch.bool).scatter(1, kept[j - 1], True) & mask.bool()
        keys = keys[:, None, None, :]
        args = list(args)
        at_kwargs = "attention_mask" in kwargs and kwargs["attention_mask"] is not None
        given = kwargs["attention_mask"] if at_kwargs else args[1]
        if given.dtype == torch.bool or given.dtype == torch.long:
            masked = given.bool() & keys
        else:
            masked = given.masked_fill(~keys, torch.finfo(given.dtype).min)
        if at_kwargs:
            kwargs["attention_mask"] = masked
        else:
            args[1] = masked
        return tuple(args), kwargs

    handles = [layer.register_forward_pre_hook(hook, with_kwargs=True) for layer in dict.fromkeys(layers)]
    try:
        return model(input_ids=ids, attention_mask=mask).logits
    finally:
        for handle in handles:
            handle.remove()


def test_elimination_equals_a_masked_reference_with_vectors_in_place(model_type, monkeypatch):
    """Eliminated vectors gone from the tensors = the same vectors left in place and masked as keys: in
    particular, kept vectors keep their original positions (MPNet's relative bias, DeBERTa's disentangled
    attention, ModernBERT's rotary positions and local windows)."""
    # large random weights: peaked attention, logits of order 1, so that a wrong position shows (by 0.3 to 7)
    model = tiny_classifier(model_type, initializer_range=0.5)
    power = get_power_model(model, PowerConfig([8, 5, 3]))
    ids, mask = padded_batch([12, 9], width=12)
    with torch.no_grad():
        kept = _kept_positions(power, ids, mask, monkeypatch)
        assert len(kept) == 2  # layers 1 and 2 eliminate; layer 3 keeps [CLS] alone
        reference = _masked_reference(model, ids, mask, kept)
        assert (reference - model(input_ids=ids, attention_mask=mask).logits).abs().max() > 0.1  # elimination shows
        torch.testing.assert_close(power(ids, mask).logits, reference, rtol=1e-4, atol=1e-4)


def test_a_batch_gives_each_input_the_logits_it_gets_alone(model_type):
    power = get_power_model(tiny_classifier(model_type, initializer_range=0.5), PowerConfig([8, 5, 3]))
    ids, mask = padded_batch([12, 9, 4], width=14)
    with torch.no_grad():
        together = power(ids, mask).logits
        alone = torch.cat([power(ids[i : i + 1, : n], mask[i : i + 1, : n]).logits for i, n in enumerate([12, 9, 4])])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-4)


def test_attention_probabilities_a_few_inputs_at_a_time_give_the_same_logits(model_type, monkeypatch):
    """At inference, layers that score compute their attention logits a few inputs at a time where they would be
    large (long inputs): the same logits as all at once."""
    import powerbert.modeling as modeling

    power = get_power_model(tiny_classifier(model_type, initializer_range=0.5), PowerConfig([8, 5, 3])).eval()
    ids, mask = padded_batch([12, 9, 4], width=14)
    steps, original = [], modeling.explicit_attention
    monkeypatch.setattr(modeling, "explicit_attention", lambda query, *args: (steps.append(query.shape[0]),
                                                                       original(query, *args))[1])
    with torch.no_grad():
        whole = power(ids, mask).logits
        assert steps == [3, 3]  # layers 1 and 2 score, each on the whole batch
        monkeypatch.setattr(modeling, "LOGITS_PER_STEP", 1)
        steps.clear()
        few = power(ids, mask).logits
    assert steps == [1] * 6  # one input at a time
    torch.testing.assert_close(few, whole, rtol=1e-5, atol=1e-6)


def test_fraction_mode_keeps_a_share_of_each_inputs_length(model_type):
    power = get_power_model(tiny_classifier(model_type), PowerConfig([0.5, 0.25, 0.25], mode="fraction"))
    widths = _record_widths(power)
    power(*padded_batch([12]))
    assert widths == [6, 3, 1]  # ceil(0.5 * 12), ceil(0.25 * 12); the last layer keeps [CLS] alone
    widths.clear()
    power(*padded_batch([12, 5], width=16))
    assert widths == [6, 3, 1]  # the batch keeps its largest count; the short input's extra vectors are masked


def test_fraction_mode_gives_each_input_of_a_batch_the_logits_it_gets_alone(model_type):
    """Per-input counts in one batch (gather to the largest, mask the rest) = each input run alone."""
    model = tiny_classifier(model_type, initializer_range=0.5)
    power = get_power_model(model, PowerConfig([0.6, 0.3, 0.3], mode="fraction"))
    lengths = [14, 9, 5, 2]
    ids, mask = padded_batch(lengths, width=16)
    with torch.no_grad():
        together = power(ids, mask).logits
        alone = torch.cat([power(ids[i : i + 1, :n], mask[i : i + 1, :n]).logits for i, n in enumerate(lengths)])
        # and it differs from count mode with the counts of the longest input (the short ones are cut too)
        counted = get_power_model(model, PowerConfig([9, 5, 5]))(ids, mask).logits
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-4)
    assert (together[1:3] - counted[1:3]).abs().max() > 1e-2


def test_fraction_search_weighs_vectors_by_relative_rank():
    power = PowerModel.keep_all(tiny_classifier("bert"), 64)
    power.enable_search(64, mode="fraction")
    assert power.soft_extract[0].retention.numel() == 32  # bins of relative rank, not one per rank
    with torch.no_grad():
        power.soft_extract[0].retention[16:] = 0.0  # the lower half of every input's ranks, whatever its length
    assert power.retention_masses()[0] == 0.5  # the mean: the share of each input this layer keeps
    seen = []
    feed_forward = power.adapter.feed_forward
    power.adapter.feed_forward = lambda layer, hidden: (seen.append(hidden), feed_forward(layer, hidden))[1]
    ids, mask = padded_batch([10, 4], width=10)
    power(ids, mask)
    zeroed = (seen[0].abs().sum(-1) == 0).sum(dim=1)
    assert zeroed.tolist() == [5, 2 + 6]  # half of 10; half of 4 plus the 6 padding positions (ranked last)
