"""Datasets, batching and built-in data: ``Dataset``, ``TensorDataset``, ``DataLoader``,
``load_digits``, ``load_mnist1d``, ``load_mnist``.

>>> import numpy as np
>>> from chainrule.data import DataLoader, TensorDataset
>>> x, y = np.zeros((6, 3), np.float32), np.arange(6)
>>> [tuple(b.shape for b in batch) for batch in DataLoader(TensorDataset(x, y), batch_size=4)]
[((4, 3), (4,)), ((2, 3), (2,))]
"""
from .dataset import Dataset, DatasetError, TensorDataset
from .datasets import default_cache_dir, load_digits, load_mnist1d, mnist1d_cache_path
from .loader import DataLoader, RandomSampler, Sampler, SequentialSampler
from .mnist import (
    DEFAULT_MNIST_MIRROR,
    MNIST_FILES,
    MNIST_SHA256,
    load_mnist,
    read_idx,
    write_idx,
)
