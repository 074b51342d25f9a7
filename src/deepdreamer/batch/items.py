"""What a batch dreams: its inputs (files, folders, globs) turned into items, each with the
relative path that names its output, its seed and its mask and guide.

The relative path of a photo is taken from where it was named: a file given by itself is its
name; a photo found in a folder (and, with `recursive`, its subfolders) is its path inside that
folder; a glob's match is its path below the glob's fixed part (`shots/**/*.jpg` -> below
`shots`). The output is OUTDIR/<relative path> with the batch's format as suffix, so the tree is
mirrored; masks and guides are found in their folders at the same relative path, any image
suffix. Hidden files and folders are skipped, and so is OUTDIR (a batch writing into its own
input folder never reads its outputs back)."""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ConfigError

__all__ = ["BatchItem", "IMAGE_SUFFIXES", "collect_items", "item_seed"]

# What a folder or glob picks up; anything else in a folder is left alone (notes, sidecars).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class BatchItem:
    rel: str  # relative path of the photo, '/'-separated: names the item everywhere
    source: Path
    output: Path
    mask: Path | None = None
    guide: Path | None = None

    @property
    def out_rel(self) -> str:
        return str(PurePosixPath(self.rel).with_suffix(self.output.suffix))


def item_seed(batch_seed: int, rel: str) -> int:
    """The item's seed from the batch seed and its relative path: the same on every run,
    worker and node, and unrelated between neighbours."""
    digest = hashlib.sha256(f"{batch_seed}\0{rel}".encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _visible(parts) -> bool:
    return not any(part.startswith(".") for part in parts)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def _walk(folder: Path, recursive: bool, skip: Path) -> list[tuple[str, Path]]:
    """(relative path, file) of the images in `folder`, sorted."""
    found = []
    pattern = "**/*" if recursive else "*"
    for path in folder.glob(pattern):
        rel = path.relative_to(folder)
        if _visible(rel.parts) and _is_image(path) and not _inside(path, skip):
            found.append((rel.as_posix(), path))
    return sorted(found)


def _glob_base(pattern: str) -> Path:
    """The part of a glob before its first wildcard: what matches are relative to."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _from_input(spec: str, recursive: bool, skip: Path) -> list[tuple[str, Path]]:
    path = Path(spec)
    if _GLOB_CHARS & set(spec) and not path.exists():
        base = _glob_base(spec)
        matches = [Path(m) for m in glob.glob(spec, recursive=True)]
        found = []
        for match in matches:
            if match.is_dir():
                found += [(f"{match.relative_to(base).as_posix()}/{rel}", p) for rel, p in _walk(match, recursive, skip)]
            elif _is_image(match) and _visible(match.relative_to(base).parts) and not _inside(match, skip):
                found.append((match.relative_to(base).as_posix(), match))
        if not found:
            raise ConfigError(f"{spec} matches no image")
        return sorted(found)
    if path.is_dir():
        found = _walk(path, recursive, skip)
        if not found:
            hint = "" if recursive else " (add --recursive for its subfolders)"
            raise ConfigError(f"{spec} holds no image{hint}")
        return found
    if path.is_file():
        return [(path.name, path)]  # named by the user: read it even with an odd suffix
    raise ConfigError(f"{spec}: no such file or folder")


def _index(folder: str | None, what: str) -> dict[str, list[Path]]:
    """A mask or guide folder's images by relative path without suffix."""
    if folder is None:
        return {}
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{what} folder {folder}: no such folder")
    index: dict[str, list[Path]] = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if _visible(rel.parts) and _is_image(path):
            index.setdefault(rel.with_suffix("").as_posix(), []).append(path)
    return index


def _match(index: dict[str, list[Path]], rel: str) -> Path | list[Path] | None:
    found = index.get(PurePosixPath(rel).with_suffix("").as_posix())
    if not found:
        return None
    return found[0] if len(found) == 1 else sorted(found)


def collect_items(inputs, outdir: str, recursive: bool, fmt: str, mask_dir: str | None = None,
                  guide_dir: str | None = None) -> tuple[list[BatchItem], dict[str, str]]:
    """(the items in a stable order, {rel: problem}) for the inputs. Usage problems (an input
    that does not exist or matches nothing, two photos that would write one output) raise
    ConfigError; a photo's own problem (two masks that fit it) is returned by its rel path."""
    out_root = Path(outdir).resolve()
    by_output: dict[str, tuple[str, Path]] = {}
    for spec in inputs:
        for rel, path in _from_input(spec, recursive, out_root):
            out_rel = PurePosixPath(rel).with_suffix(f".{fmt}").as_posix()
            other = by_output.get(out_rel)
            if other is not None and other[1].resolve() != path.resolve():
                raise ConfigError(f"{other[1]} and {path} would both be written to {out_rel}; "
                                  "rename one or dream them in two batches")
            by_output.setdefault(out_rel, (rel, path))
    masks, guides = _index(mask_dir, "mask"), _index(guide_dir, "guide")
    items, problems = [], {}
    for out_rel, (rel, path) in sorted(by_output.items()):
        mask, guide = _match(masks, rel), _match(guides, rel)
        for what, found in (("masks", mask), ("guides", guide)):
            if isinstance(found, list):
                problems[rel] = f"{len(found)} {what} fit it ({', '.join(p.name for p in found)}); keep one"
        items.append(BatchItem(rel, path, out_root / out_rel,
                               mask if isinstance(mask, Path) else None,
                               guide if isinstance(guide, Path) else None))
    return items, problems
