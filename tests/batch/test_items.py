"""Which photos a batch takes and where each one's output goes: folders, subfolders, globs and
files; hidden files, non-images and the output folder itself left out; masks and guides found
by relative path; seeds that depend on the batch seed and the path only."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepdreamer.batch import collect_items, item_seed
from deepdreamer.errors import ConfigError

from .helpers import make_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    make_tree(root, ["a.jpg", "b.png", "trip/c.jpg", "trip/day2/d.webp", ".hidden/e.jpg", "trip/.f.jpg"])
    (root / "notes.txt").write_text("not a photo")
    return root


def rels(items) -> list[str]:
    return [item.rel for item in items]


def test_a_folder_gives_its_own_photos_and_recursive_its_tree(tree, tmp_path):
    flat, _ = collect_items([str(tree)], str(tmp_path / "out"), recursive=False, fmt="png")
    assert rels(flat) == ["a.jpg", "b.png"]
    deep, problems = collect_items([str(tree)], str(tmp_path / "out"), recursive=True, fmt="jpg")
    assert rels(deep) == ["a.jpg", "b.png", "trip/c.jpg", "trip/day2/d.webp"]
    assert problems == {}
    out = (tmp_path / "out").resolve()
    assert [item.output for item in deep] == [out / "a.jpg", out / "b.jpg", out / "trip/c.jpg", out / "trip/day2/d.jpg"]
    assert deep[3].out_rel == "trip/day2/d.jpg"


def test_globs_are_relative_to_their_fixed_part(tree, tmp_path):
    items, _ = collect_items([f"{tree}/**/*.jpg"], str(tmp_path / "out"), recursive=False, fmt="png")
    assert rels(items) == ["a.jpg", "trip/c.jpg"]
    items, _ = collect_items([f"{tree}/trip/*"], str(tmp_path / "out"), recursive=True, fmt="png")
    assert rels(items) == ["c.jpg", "day2/d.webp"]


def test_a_file_is_named_by_itself_and_several_inputs_combine(tree, tmp_path):
    items, _ = collect_items([str(tree / "trip/c.jpg"), str(tree / "a.jpg")], str(tmp_path / "o"), False, "png")
    assert rels(items) == ["a.jpg", "c.jpg"]


def test_the_output_folder_inside_an_input_is_never_read_back(tree):
    out = tree / "dreams"
    make_tree(out, ["a.png", "trip/c.png"])  # what an earlier run wrote there
    items, _ = collect_items([str(tree)], str(out), recursive=True, fmt="png")
    assert rels(items) == ["a.jpg", "b.png", "trip/c.jpg", "trip/day2/d.webp"]


@pytest.mark.parametrize(
    "make, contains",
    [
        (lambda t: [str(t / "missing")], "no such file or folder"),
        (lambda t: [f"{t}/*.gif"], "matches no image"),
        (lambda t: [str(t / "trip" / "day2" / "none")], "no such file or folder"),
    ],
)
def test_inputs_that_give_nothing_are_one_line_usage_errors(tree, tmp_path, make, contains):
    with pytest.raises(ConfigError, match=contains):
        collect_items(make(tree), str(tmp_path / "out"), False, "png")


def test_an_empty_folder_says_recursive_may_help(tmp_path):
    make_tree(tmp_path / "p", ["sub/x.jpg"])
    with pytest.raises(ConfigError, match="--recursive"):
        collect_items([str(tmp_path / "p")], str(tmp_path / "out"), False, "png")


def test_two_photos_that_would_write_one_output_are_refused(tmp_path):
    make_tree(tmp_path / "p", ["x.jpg", "x.png"])
    with pytest.raises(ConfigError, match="would both be written to x.png"):
        collect_items([str(tmp_path / "p")], str(tmp_path / "out"), False, "png")


def test_masks_and_guides_match_by_relative_path_with_any_suffix(tree, tmp_path):
    masks, guides = tmp_path / "masks", tmp_path / "guides"
    make_tree(masks, ["a.png", "trip/c.png", "trip/day2/d.jpg", "trip/day2/d.png", "zzz.png"])
    make_tree(guides, ["b.jpg"])
    items, problems = collect_items([str(tree)], str(tmp_path / "out"), True, "png", str(masks), str(guides))
    by_rel = {item.rel: item for item in items}
    assert by_rel["a.jpg"].mask == masks / "a.png" and by_rel["a.jpg"].guide is None
    assert by_rel["b.png"].mask is None and by_rel["b.png"].guide == guides / "b.jpg"
    assert by_rel["trip/c.jpg"].mask == masks / "trip/c.png"
    assert "2 masks fit it" in problems["trip/day2/d.webp"]
    assert set(problems) == {"trip/day2/d.webp"}


def test_item_seeds_depend_on_the_batch_seed_and_path_only():
    seeds = {item_seed(7, rel) for rel in ("a.jpg", "b.jpg", "trip/a.jpg")}
    assert len(seeds) == 3 and all(0 <= s < 2**31 for s in seeds)
    assert item_seed(7, "a.jpg") == item_seed(7, "a.jpg") != item_seed(8, "a.jpg")
