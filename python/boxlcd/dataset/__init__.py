"""Datasets of boxlcd episodes: collect them fast, store frames packed, read them back.

A dataset is a folder: manifest.json plus one folder per shard holding .npy arrays
(frames stay packed, exactly the engine's layout) that load memory-mapped.
"""
from boxlcd.dataset.collector import collect
from boxlcd.dataset.store import CorruptShardError, DatasetError, Episodes, JoinedEpisodes, open_episodes

__all__ = ["CorruptShardError", "DatasetError", "Episodes", "JoinedEpisodes", "collect", "open_episodes"]
