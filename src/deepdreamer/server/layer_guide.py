"""The layer guide: for each layer, a small picture of what it paints, dreamed once on the
sample photo and kept on disk (RESULTS/.layer-guide/MODEL/LAYER.jpg), so a user sees strokes
at low layers and eyes and animals at high ones before choosing."""

from __future__ import annotations

import hashlib
import io
import threading
from collections import defaultdict
from pathlib import Path

from PIL import Image

from ..config import DreamConfig
from ..io.atomic import write_atomic
from ..models import DreamModel
from ..pipeline import dream_image
from .requests import sample_bytes

__all__ = ["LayerGuide", "GUIDE_SETTINGS"]

# Small and quick (about a second a layer here), strong enough that each layer's own look shows:
# a deep dream's octaves and steps at 192 px; fixed seed, so the pictures are the same each time.
GUIDE_SETTINGS = dict(max_size=192, octaves=3, steps=12, step_size=0.02, seed=0, precision="fp32")
_QUALITY = 85


class LayerGuide:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def picture(self, net: DreamModel, layer: str) -> bytes:
        """The JPEG for `layer` of `net` (a name the model has: the caller checked it)."""
        path = self.root / _safe(net.name) / f"{_safe(layer)}.jpg"
        with self._guard:
            lock = self._locks[(net.name, layer)]
        with lock:  # two page loads asking at once make it once
            if path.is_file():
                return path.read_bytes()
            config = DreamConfig(model=net.name, layers=((layer, 1.0),), **GUIDE_SETTINGS)
            photo = Image.open(io.BytesIO(sample_bytes()))
            out = dream_image(config, photo, model=net)
            buffer = io.BytesIO()
            out.image.convert("RGB").save(buffer, format="JPEG", quality=_QUALITY)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, lambda f: f.write(buffer.getvalue()))
            return buffer.getvalue()


def _safe(name: str) -> str:
    """A model or layer name as one file name (names are checked against the model first). A
    name that had to change gets a short hash of itself, so `a/b.py:f` and `a_b.py:f` (models
    served by spec) keep their pictures apart."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    if safe == name:
        return safe
    return f"{safe}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
