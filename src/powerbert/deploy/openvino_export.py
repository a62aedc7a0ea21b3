"""The exported ONNX graph converted to OpenVINO's IR, and NNCF's post-training int8 quantization of it.

OpenVINO reads the ONNX graph that `onnx_export` traces (elimination included) and saves it as
`openvino_model.xml` / `.bin`, optimum-intel's file names. int8 is NNCF's static post-training quantization:
it runs a few hundred real inputs of the task through the graph to set the activation ranges. bf16 is not
a file: it is OpenVINO's run-time precision hint (see `openvino_model`).
"""

import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger("powerbert")

OPENVINO_FILE = "openvino_model.xml"


def convert_to_openvino(onnx_path: Path, xml_path: Path, calibration: list[dict[str, np.ndarray]] | None = None
                        ) -> None:
    """Save the ONNX graph as OpenVINO IR (fp32 weights), quantized to int8 by NNCF when calibration inputs are given."""
    import openvino as ov

    model = ov.convert_model(str(onnx_path))
    if calibration is not None:
        model = quantize_openvino_int8(model, calibration)
    ov.save_model(model, str(xml_path), compress_to_fp16=False)


def quantize_openvino_int8(model, calibration: list[dict[str, np.ndarray]]):
    """NNCF post-training int8 quantization (transformer preset) calibrated on `calibration`, one input per item.

    With NNCF's full bias correction rather than its fast one: calibration takes about twice as long, and the
    PoWER graphs, whose token choice follows quantized attention, keep more of their accuracy (docs/benchmark.md).
    """
    import nncf

    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    nncf_log.setLevel(logging.WARNING)  # NNCF reports every statistic it collects at INFO
    try:
        logger.info("quantizing to int8 with NNCF on %d calibration inputs", len(calibration))
        return nncf.quantize(model, nncf.Dataset(calibration), model_type=nncf.ModelType.TRANSFORMER,
                             subset_size=len(calibration), fast_bias_correction=False)
    finally:
        nncf_log.setLevel(level)
