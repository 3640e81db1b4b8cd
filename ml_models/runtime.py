"""Thread settings for the two inference runtimes, so several app workers can share few cores."""

from pathlib import Path

import onnxruntime

_configured_threads: int | None = None


def configure_tensorflow(threads: int) -> None:
    """Limit TensorFlow's thread pools; only possible before its first op runs, so later calls are ignored."""
    global _configured_threads
    if _configured_threads is not None:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already initialised by someone else: keep its settings
        pass
    _configured_threads = threads


def onnx_session(model_path: str | Path, threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
