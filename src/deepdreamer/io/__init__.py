"""Image input and output."""

from deepdreamer.io.images import (
    SUPPORTED_OUTPUT_SUFFIXES,
    LoadedImage,
    check_output_path,
    load_image,
    merge_alpha,
    read_settings,
    save_image,
    to_pil,
    to_tensor,
)

__all__ = [
    "LoadedImage",
    "check_output_path",
    "load_image",
    "to_tensor",
    "to_pil",
    "merge_alpha",
    "save_image",
    "read_settings",
    "SUPPORTED_OUTPUT_SUFFIXES",
]
