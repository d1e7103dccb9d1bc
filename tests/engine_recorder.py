"""The engine listener the streaming and spotting tests share: it keeps everything the engine tells it."""
import threading


class Recorder:
    def __init__(self):
        self.frames, self.results, self.events, self.status, self.segments = [], [], [], [], []
        self.finished = threading.Event()

    def on_frame(self, info):
        self.frames.append(info)

    def on_result(self, result):
        self.results.append(result)

    def on_event(self, event):
        self.events.append(event)

    def on_segment(self, segment):
        self.segments.append(segment)

    def on_status(self, message):
        self.status.append(message)

    def on_finished(self):
        self.finished.set()
