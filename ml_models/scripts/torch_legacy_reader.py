"""Read a legacy (non-zip) PyTorch ``.pth`` state_dict into numpy arrays without torch.

Layout of the legacy format: five pickles follow each other (magic number, protocol
version, system info, the state_dict whose tensors point at storages by persistent id,
the list of storage keys), then every storage as an int64 element count plus raw bytes.
"""

# Every pickle is read by _StateDictUnpickler, which resolves no global but the few a state_dict needs.
import pickle  # nosec B403
import struct
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass
class _TensorView:
    storage_key: str
    offset: int
    shape: tuple
    stride: tuple


def _rebuild_tensor(storage_key: str, storage_offset: int, size: Iterable[int], stride: Iterable[int],
                    *_unused: object) -> "_TensorView":
    return _TensorView(storage_key, storage_offset, tuple(size), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    """Resolves only the few torch globals a state_dict needs, so nothing else can run."""

    def __init__(self, file: BinaryIO, storage_dtypes: dict[str, type]):
        super().__init__(file)
        self.storage_dtypes = storage_dtypes

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in state_dict")

    def persistent_load(self, pid: tuple) -> str:
        _kind, storage_type, key, _location, _size, _view = pid
        self.storage_dtypes[key] = _STORAGE_DTYPES[storage_type]
        return key


def load_legacy_state_dict(path: Path) -> dict[str, np.ndarray]:
    storage_dtypes: dict[str, type] = {}
    with open(path, "rb") as file:
        def next_pickle() -> Any:
            return _StateDictUnpickler(file, storage_dtypes).load()

        if next_pickle() != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a legacy PyTorch checkpoint")
        next_pickle()  # protocol version
        next_pickle()  # system info (little endian, type sizes)
        views = next_pickle()
        storages = {}
        for key in next_pickle():
            (count,) = struct.unpack("<q", file.read(8))
            dtype = np.dtype(storage_dtypes[key])
            storages[key] = np.frombuffer(file.read(count * dtype.itemsize), dtype=dtype)
    arrays = {}
    for name, view in views.items():
        flat = storages[view.storage_key]
        itemsize = flat.dtype.itemsize
        arrays[name] = np.lib.stride_tricks.as_strided(
            flat[view.offset:], shape=view.shape, strides=[s * itemsize for s in view.stride]
        ).copy()
    return arrays
