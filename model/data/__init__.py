"""Training data: the shard reader (dataset.py), the sample contract the trainer relies on
(sample.py), and batched kornia augmentation (augment.py)."""

from model.data.dataset import ShardDataset
from model.data.sample import ROLE_VOCAB, collate

__all__ = ["ROLE_VOCAB", "ShardDataset", "collate"]
