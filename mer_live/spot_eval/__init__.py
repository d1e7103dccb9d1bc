"""MEGC-style evaluation of the live spotting engine on long videos (`mer-spot`).

readers (CAS(ME)^2, SAMM Long Videos, CAS(ME)^3 part A) -> LongVideo records -> runner (the live engine,
causal, one video at a time, results kept per video) -> evaluation / scoring / live_metrics -> report and
timelines. `synthetic` writes held-out synthetic long videos in the three layouts for tests and benchmarks.
"""
from mer_live.spot_eval.catalog import SPOT_DATASETS
from mer_live.spot_eval.readers import load_long_videos
from mer_live.spot_eval.records import Interval, LongVideo, ReaderNote, SpotIndex

__all__ = ["SPOT_DATASETS", "Interval", "LongVideo", "ReaderNote", "SpotIndex", "load_long_videos"]
