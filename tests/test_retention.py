import pytest

from powerbert import PowerBertError, PowerConfig
from powerbert.algorithm.retention import (
    encoder_flops,
    flop_fraction,
    fraction_count,
    fractions_from_means,
    is_collapsed,
    retention_from_masses,
    validate_retention,
)


def test_configuration_from_masses_floors_and_is_non_increasing():
    assert retention_from_masses([40.9, 45.2, 12.0, 0.3, 2.99]) == [40, 40, 12, 1, 1]


@pytest.mark.parametrize(
    "retention, layers, message",
    [
        ([10, 12, 5], 3, "non-increasing"),
        ([10, 5, 0], 3, ">= 1"),
        ([10, 5, 2, 1], 3, "3 layers"),
        ([], None, "empty"),
    ],
)
def test_bad_configurations_are_refused(retention, layers, message):
    with pytest.raises(PowerBertError, match=message):
        validate_retention(retention, layers)


@pytest.mark.parametrize(
    "retention, mode, message",
    [
        ([0.5, 0.6], "fraction", "non-increasing"),
        ([1.5, 0.5], "fraction", r"in \(0, 1\]"),
        ([0.5, 0.0], "fraction", r"in \(0, 1\]"),
        ([0.5, float("nan")], "fraction", "must hold numbers"),
        ([0.8, 0.5], "count", "need --retention-mode fraction"),
    ],
)
def test_bad_fraction_configurations_are_refused(retention, mode, message):
    with pytest.raises(PowerBertError, match=message):
        PowerConfig(retention, mode=mode)


def test_fraction_counts_are_ceil_of_rho_times_length_exactly():
    import torch

    assert [fraction_count(0.3, n) for n in (1, 10, 11, 100)] == [1, 3, 4, 30]  # 0.3 * 10 is 3.0000000000000004
    assert fraction_count(0.3, torch.tensor([1, 10, 11, 100])).tolist() == [1, 3, 4, 30]  # the same on tensors
    assert PowerConfig([0.5, 0.25, 0.001], mode="fraction").counts(10) == [5, 3, 1]
    assert PowerConfig([40, 20, 1]).counts(30) == [30, 20, 1]  # never more than the input has
    assert fractions_from_means([0.91234, 0.95, 0.2, 0.0]) == [0.912, 0.912, 0.2, 0.001]


def test_collapse_means_two_vectors_or_fewer_per_layer_on_average():
    assert is_collapsed(PowerConfig([3, 2, 1, 1]))
    assert is_collapsed(PowerConfig([1, 1, 1, 1]))
    assert not is_collapsed(PowerConfig([30, 20, 2, 1]))
    assert not is_collapsed(PowerConfig([8, 4, 1, 1, 1, 1]))  # strong, but [CLS] carries the task by layer 3
    assert is_collapsed(PowerConfig([0.05, 0.02, 0.01, 0.01], mode="fraction"))  # 4, 2, 1, 1 of 64 tokens
    assert not is_collapsed(PowerConfig([0.5, 0.3, 0.03, 0.01], mode="fraction"))


def test_flops_count_attention_on_the_input_and_output_projection_and_ffn_on_the_kept_vectors():
    hidden, ffn = 4, 16
    # one layer, 10 tokens in, 3 kept: QKV 3*10*16, attention 2*100*4, output projection 3*16, FFN 2*3*4*16
    assert encoder_flops(10, hidden, ffn, 1, PowerConfig([3])) == 480 + 800 + 48 + 384
    assert encoder_flops(10, hidden, ffn, 1) == 480 + 800 + 160 + 1280
    assert flop_fraction([10, 20], hidden, ffn, PowerConfig([100, 100])) == 1.0
    # an input shorter than l_j pays for its real length only
    assert flop_fraction([5], hidden, ffn, PowerConfig([8, 8])) == 1.0
    assert flop_fraction([40], hidden, ffn, PowerConfig([20, 10])) < 0.6
    # fraction mode: the same share of every input, short ones included
    half = PowerConfig([0.5], mode="fraction")
    assert encoder_flops(10, hidden, ffn, 1, half) == encoder_flops(10, hidden, ffn, 1, PowerConfig([5]))
    assert flop_fraction([8], hidden, ffn, half) == (encoder_flops(8, hidden, ffn, 1, PowerConfig([4]))
                                                     / encoder_flops(8, hidden, ffn, 1))


@pytest.mark.parametrize("config", [PowerConfig(retention=[9, 5, 2], masses=[9.4, 5.1, 2.8]),
                                    PowerConfig(retention=[0.8, 0.45, 0.1], masses=[0.81, 0.45, 0.1], mode="fraction")])
def test_power_config_round_trips(tmp_path, config):
    config.save_pretrained(tmp_path)
    assert PowerConfig.from_pretrained(tmp_path) == config


def test_missing_or_corrupt_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(PowerBertError, match="not a PoWER model"):
        PowerConfig.from_pretrained(tmp_path)
    (tmp_path / "power_config.json").write_text("{not json")
    with pytest.raises(PowerBertError, match="corrupt"):
        PowerConfig.from_pretrained(tmp_path)
