"""Widgets of the live window: video, probability bars, timeline, event list, stats readout, spotter watch status."""
from gui.widgets.event_list import EventList
from gui.widgets.prob_bars import ProbabilityBars
from gui.widgets.stats_panel import StatsPanel
from gui.widgets.timeline import Timeline
from gui.widgets.video_view import VideoView
from gui.widgets.watch_status import WatchStatus

__all__ = ["EventList", "ProbabilityBars", "StatsPanel", "Timeline", "VideoView", "WatchStatus"]
