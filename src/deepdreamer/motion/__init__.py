"""Dreams in motion: the zoom feedback loop and flicker-free video (optical flow), with frames
kept on disk so long runs resume. The keyword calls are `deepdreamer.zoom` and
`deepdreamer.dream_video`."""

from .loops import FrameProgress
from .output import FrameWriter, output_kind
from .run import MotionResult, render_video, render_zoom
from .source import VideoSource

__all__ = [
    "FrameProgress",
    "FrameWriter",
    "MotionResult",
    "VideoSource",
    "output_kind",
    "render_video",
    "render_zoom",
]
