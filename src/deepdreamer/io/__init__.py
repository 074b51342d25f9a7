"""Image input and output: reading images, converting pictures to the dream's tensors and back,
checking an output path before the work and writing outputs atomically."""

from deepdreamer.io import images
from deepdreamer.io.atomic import AtomicTarget, write_atomic
from deepdreamer.io.images import (
    SUPPORTED_OUTPUT_SUFFIXES,
    LoadedImage,
    check_output_path,
    encode_image,
    load_image,
    merge_alpha,
    read_settings,
    save_image,
    settings_of,
    to_pil,
    to_tensor,
)
from deepdreamer.io.tensors import array_to_tensor, tensor_to_array

# images.__all__ already lists its public names; a second copy here would drift from it.
__all__ = [*images.__all__, "AtomicTarget", "write_atomic", "array_to_tensor", "tensor_to_array"]
