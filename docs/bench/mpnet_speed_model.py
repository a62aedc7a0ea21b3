"""A PoWER MPNet classifier for timing only: all-mpnet-base-v2's own weights (a new, untrained classification
head) with the configuration of the MRPC model at 0.4 of the FLOPs ([55, 49, 44, 44, 38, 14, 7, 3, 2, 1, 1, 1]).
Speed depends on the configuration and the input lengths, not on what was learned, so on a machine without the
trained model this times what it would run; its dev metrics mean nothing.
python docs/bench/mpnet_speed_model.py OUT_DIR
"""
import sys

from transformers import AutoModelForSequenceClassification, AutoTokenizer

from powerbert import PowerConfig, get_power_model
from powerbert.pretrained import mpnet_path

RETENTION = [55, 49, 44, 44, 38, 14, 7, 3, 2, 1, 1, 1]
model = AutoModelForSequenceClassification.from_pretrained(mpnet_path(), num_labels=2)
power = get_power_model(model, PowerConfig(RETENTION))
power.save_pretrained(sys.argv[1], AutoTokenizer.from_pretrained(mpnet_path()))
print("wrote", sys.argv[1])
