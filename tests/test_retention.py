import pytest

from powerbert import PowerBertError, PowerConfig
from powerbert.algorithm.retention import (
    encoder_flops,
    flop_fraction,
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


def test_collapse_means_most_layers_keep_one_or_two():
    assert is_collapsed([3, 2, 1, 1])
    assert not is_collapsed([30, 20, 2, 1])


def test_flops_count_attention_on_the_input_and_ffn_on_the_kept_vectors():
    hidden, ffn = 4, 16
    # one layer, 10 tokens in, 3 kept: 4*10*16 + 2*100*4 + 2*3*4*16
    assert encoder_flops(10, hidden, ffn, 1, [3]) == 640 + 800 + 384
    assert flop_fraction([10, 20], hidden, ffn, [100, 100]) == 1.0
    # an input shorter than l_j pays for its real length only
    assert flop_fraction([5], hidden, ffn, [8, 8]) == 1.0
    assert flop_fraction([40], hidden, ffn, [20, 10]) < 0.6


def test_power_config_round_trips(tmp_path):
    config = PowerConfig(retention=[9, 5, 2], masses=[9.4, 5.1, 2.8])
    config.save_pretrained(tmp_path)
    assert PowerConfig.from_pretrained(tmp_path) == config


def test_missing_or_corrupt_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(PowerBertError, match="not a PoWER model"):
        PowerConfig.from_pretrained(tmp_path)
    (tmp_path / "power_config.json").write_text("{not json")
    with pytest.raises(PowerBertError, match="corrupt"):
        PowerConfig.from_pretrained(tmp_path)
