"""Dreams in motion: the zoom feedback loop and flicker-free video (optical flow), with frames
kept on disk so long runs resume."""

from .loops import FrameProgress
from .output import FrameWriter, output_kind
from .run import MotionResult, dream_video, render_video, render_zoom, zoom
from .source import VideoSource

__all__ = [
    "FrameProgress",
    "FrameWriter",
    "MotionResult",
    "VideoSource",
    "dream_video",
    "output_kind",
    "render_video",
    "render_zoom",
    "zoom",
]
