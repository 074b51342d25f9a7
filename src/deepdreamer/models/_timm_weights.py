"""timm's pretrained weights, from the Hugging Face cache first and the hub only when it answers.

Left to itself, timm asks the hub for every weights file, cached or not, and huggingface_hub
retries a connection that fails 5 times with back-off (1 + 2 + 4 + 8 + 8 s) and a warning per
try, for each file name it tries: offline, `--model timm:NAME` printed 20 lines and took 46 s
before it failed, and a model whose weights were cached waited as long before loading them.
Here a cached file is loaded as a local file (no request), and an uncached one is fetched only
after one short connection to the hub has worked; otherwise the caller gets one line at once.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import torch.nn as nn

__all__ = ["load_timm_weights", "HubUnreachable"]

CONNECT_SECONDS = 3.0  # a reachable hub answers a TCP connect in well under this


class HubUnreachable(OSError):
    """The weights are not cached and the hub cannot be reached."""


def _cached_file(cfg: dict) -> str | None:
    """The weights file of a hub-hosted `pretrained_cfg`, if it is in the local HF cache."""
    from huggingface_hub import try_to_load_from_cache

    hub_id = cfg.get("hf_hub_id")
    if not hub_id:
        return None
    repo, _, revision = hub_id.partition("@")
    wanted = cfg.get("hf_hub_filename") or "pytorch_model.bin"
    # timm prefers a safetensors twin of whatever file the cfg names (timm/models/_hub.py)
    names = [wanted] if wanted.endswith(".safetensors") else ["model.safetensors", wanted]
    for name in names:
        found = try_to_load_from_cache(repo, name, revision=revision or None)
        if isinstance(found, str):
            return found
    return None


def _hub_answers() -> bool:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlsplit(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=CONNECT_SECONDS):
            return True
    except OSError:
        return False


def load_timm_weights(net: nn.Module, classes: int) -> None:
    """Load `net`'s pretrained weights as timm would, cache first; HubUnreachable when they are
    not cached and the hub does not answer (timm's own errors pass through)."""
    from timm.models import load_pretrained

    cfg = dict(net.pretrained_cfg)
    cached = _cached_file(cfg)
    if cached is not None:
        # 'file' is timm's local-file source; a 'hf-hub' source would win over it, so cleared
        cfg.update(source="", file=cached)
    elif cfg.get("hf_hub_id") and not _hub_answers():
        raise HubUnreachable(f"{cfg['hf_hub_id']} is not cached and the hub does not answer")
    load_pretrained(net, pretrained_cfg=cfg, num_classes=classes)
