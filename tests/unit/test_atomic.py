"""io.atomic (the one atomic-write routine), io.outputs (the one output-path check) and
io.tensors (the one picture <-> tensor conversion); everything is written under tmp_path."""

from __future__ import annotations

import os
import pathlib
import stat

import numpy as np
import pytest
import torch

from deepdreamer.errors import OutputError
from deepdreamer.io import AtomicTarget, array_to_tensor, tensor_to_array, to_pil, write_atomic
from deepdreamer.io.outputs import check_output_target


def _mode(p: pathlib.Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_write_atomic_writes_bytes_with_mode_0644(tmp_path):
    p = write_atomic(tmp_path / "a.bin", b"hello")
    assert p == tmp_path / "a.bin" and p.read_bytes() == b"hello"
    assert _mode(p) == 0o644  # not mkstemp's 0600
    assert os.listdir(tmp_path) == ["a.bin"]


def test_a_write_failing_part_way_leaves_no_file_and_no_temporary(tmp_path):
    def half_then_fail(f):
        f.write(b"half of it")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError) as e:
        write_atomic(tmp_path / "a.bin", half_then_fail)
    assert str(e.value) == f"cannot write {tmp_path / 'a.bin'}: No space left on device"
    assert os.listdir(tmp_path) == []


def test_a_failed_write_keeps_the_old_file(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")

    def fail(f):
        f.write(b"new but not all of it")
        raise ValueError("cannot encode\nsecond line")

    with pytest.raises(OutputError) as e:
        write_atomic(p, fail)
    assert str(e.value) == f"cannot write {p}: cannot encode"  # one line
    assert p.read_bytes() == b"old" and os.listdir(tmp_path) == ["a.bin"]


def test_other_exceptions_pass_through_and_still_clean_up(tmp_path):
    def interrupted(f):
        f.write(b"x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "a.bin", interrupted)
    assert os.listdir(tmp_path) == []


def test_the_temporary_is_hidden_beside_the_target(tmp_path):
    with AtomicTarget(tmp_path / "out.png") as target:
        assert target.tmp.parent == tmp_path
        assert target.tmp.name.startswith(".out.png.") and target.tmp.name.endswith(".tmp")
        assert not (tmp_path / "out.png").exists()  # nothing at the target until commit
        target.tmp.write_bytes(b"png")
        target.commit()
        target.abort()  # after commit: does nothing
    assert os.listdir(tmp_path) == ["out.png"]


def test_an_exception_in_the_with_block_aborts(tmp_path):
    with pytest.raises(RuntimeError):
        with AtomicTarget(tmp_path / "frames", directory=True) as target:
            (target.tmp / "1.png").write_bytes(b"x")
            raise RuntimeError("the dream failed")
    assert os.listdir(tmp_path) == []


def test_commit_of_a_folder_replaces_an_existing_folder(tmp_path):
    old = tmp_path / "frames"
    old.mkdir()
    (old / "old.png").write_bytes(b"old")
    with AtomicTarget(old, directory=True) as target:
        (target.tmp / "new.png").write_bytes(b"new")
        target.commit()
    assert os.listdir(old) == ["new.png"] and _mode(old) == 0o755
    assert os.listdir(tmp_path) == ["frames"]


def test_a_folder_committed_without_replace_keeps_what_is_there(tmp_path):
    theirs = tmp_path / "frames"
    with AtomicTarget(theirs, directory=True) as target:
        theirs.mkdir()  # made meanwhile, e.g. by another run
        (theirs / "theirs.png").write_bytes(b"theirs")
        (target.tmp / "mine.png").write_bytes(b"mine")
        with pytest.raises(OSError):
            target.commit(replace=False)
        target.abort()
    assert os.listdir(theirs) == ["theirs.png"] and os.listdir(tmp_path) == ["frames"]


def test_a_target_that_cannot_be_created_is_one_line(tmp_path):
    p = tmp_path / "no" / "such" / "out.png"
    with pytest.raises(OutputError) as e:
        AtomicTarget(p)
    assert str(e.value).startswith(f"cannot write {p}: ") and "\n" not in str(e.value)


def test_check_output_target(tmp_path):
    inp = tmp_path / "in.mp4"
    inp.write_bytes(b"input")
    with pytest.raises(OutputError, match="refusing to overwrite the input"):
        check_output_target(tmp_path / "." / "in.mp4", force=True, protect=[inp])
    assert check_output_target(inp, force=True, protect=[inp], force_overwrites_input=True) == inp
    with pytest.raises(OutputError, match="exists; use --force"):
        check_output_target(inp)
    with pytest.raises(OutputError, match="it is a directory"):
        check_output_target(tmp_path, force=True)
    with pytest.raises(OutputError, match="does not exist"):
        check_output_target(tmp_path / "no" / "out.png")


def test_array_and_tensor_conversions_match_the_formulas():
    values = np.arange(256, dtype=np.uint8)
    frame = np.stack([values, values[::-1], values], axis=-1).reshape(16, 16, 3)
    t = array_to_tensor(frame)
    assert t.shape == (1, 3, 16, 16) and t.dtype == torch.float32 and t.is_contiguous()
    expected = (frame.astype(np.float32) / np.float32(255.0)).transpose(2, 0, 1)
    assert np.array_equal(t[0].numpy(), expected)  # bit for bit
    assert np.array_equal(tensor_to_array(t), frame)  # and back
    floats = frame.astype(np.float64) / 255.0
    assert np.array_equal(array_to_tensor(floats)[0].numpy(), floats.astype(np.float32).transpose(2, 0, 1))
    x = torch.tensor([-0.5, 0.5 / 255, 1.5 / 255, 2.5 / 255, 0.5, 1.0, 7.0]).view(1, 1, 1, 7).expand(1, 3, 1, 7)
    want = (x[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.array_equal(tensor_to_array(x), want)  # rounds half to even, clamps
    assert np.array_equal(np.asarray(to_pil(x)), want)


def test_a_batch_is_refused_by_name():
    with pytest.raises(ValueError, match="to_pil expects one image, got a batch of 2"):
        to_pil(torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="tensor_to_array expects one image"):
        tensor_to_array(torch.zeros(2, 3, 4, 4))
