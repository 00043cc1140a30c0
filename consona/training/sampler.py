"""Length-grouped batches whose order depends only on (seed, epoch), so a resumed run sees
the same batches as an uninterrupted one.

Batches of examples of similar length waste less compute on padding (a batch is padded to
its longest example). transformers' ``LengthGroupedSampler`` draws its order from the global
RNG at the start of each epoch; after a resume mid-epoch that RNG is in another state, so the
skipped and the remaining batches would not be the ones of the first run. This sampler seeds a
generator with ``seed + epoch`` (the trainer calls ``set_epoch``), which also gives every
process of a DDP run the same order.

>>> s = SeededLengthGroupedSampler([5, 1, 4, 2, 3, 6, 1, 2], batch_size=2, seed=0)
>>> sorted(s) == list(range(8)) and list(s) == list(s)
True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

__all__ = ["SeededLengthGroupedSampler"]


class SeededLengthGroupedSampler:
    """A random permutation cut into mega-batches (up to 50 batches each), each sorted by
    length, so a batch holds examples of similar length; the order depends on ``seed`` and
    the epoch only (transformers' ``get_length_grouped_indices`` with a seeded generator)."""

    def __init__(self, lengths: Sequence[int], *, batch_size: int, seed: int) -> None:
        self.lengths = [int(n) for n in lengths]
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        import torch
        from transformers.trainer_pt_utils import get_length_grouped_indices

        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = get_length_grouped_indices(self.lengths, self.batch_size, generator=generator)
        return iter(int(i) for i in order)
