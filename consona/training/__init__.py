"""Training persona dialogue models on consona datasets: ``consona train``.

TRL ``SFTTrainer`` + PEFT LoRA on a ``consona build`` folder or chat-messages JSONL, loss on
assistant replies only, atomic checkpoints and resume, the same entry point under
``accelerate launch``, and export of the adapter, a merged folder and a GGUF.

>>> from consona.training import TrainConfig
>>> TrainConfig().lora_r
16
"""

from consona.training.data import SFTExample, encode_example, fingerprint, read_examples
from consona.training.errors import CheckpointError, RunMismatchError, TrainingError
from consona.training.run import RunDir, is_run_dir
from consona.training.trainer import TrainConfig, TrainResult, pick_pad_token, train_sft

__all__ = [
    "CheckpointError",
    "RunDir",
    "RunMismatchError",
    "SFTExample",
    "TrainConfig",
    "TrainResult",
    "TrainingError",
    "encode_example",
    "fingerprint",
    "is_run_dir",
    "pick_pad_token",
    "read_examples",
    "train_sft",
]
