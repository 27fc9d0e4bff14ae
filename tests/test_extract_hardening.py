"""Zip members the extractor must refuse or handle (symlinks, FIFO/device entries,
backslash and drive-letter names) and the extraction size limit against archive bombs."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from colorbench.data.extract import safe_extract
from colorbench.errors import ColorbenchError


def _zip_member(zf: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.create_system = 3  # unix: external_attr carries st_mode
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def _zip(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in members:
            _zip_member(zf, name, data, mode)
    return path


REG = stat.S_IFREG | 0o644


def test_zip_symlink_inside_is_kept_and_outside_refused(tmp_path):
    good = _zip(tmp_path / "good.zip", [("d/a.txt", b"A", REG),
                                        ("d/link", b"a.txt", stat.S_IFLNK | 0o777)])  # fmt: skip
    safe_extract(good, tmp_path / "out")
    link = tmp_path / "out" / "d" / "link"
    assert link.is_symlink() and link.read_bytes() == b"A"
    bad = _zip(tmp_path / "bad.zip", [("ok.txt", b"x", REG),
                                      ("evil", b"../../etc/passwd", stat.S_IFLNK | 0o777)])  # fmt: skip
    with pytest.raises(ColorbenchError, match=r"'evil' \(symlink to '../../etc/passwd' escapes"):
        safe_extract(bad, tmp_path / "out2")
    assert list((tmp_path / "out2").iterdir()) == []


@pytest.mark.parametrize(
    "kind",
    [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK],
    ids=["fifo", "chr", "blk", "sock"],
)
def test_zip_special_members_are_refused(tmp_path, kind):
    arc = _zip(tmp_path / "s.zip", [("ok.txt", b"x", REG), ("dev", b"", kind | 0o644)])
    with pytest.raises(ColorbenchError, match=r"'dev' \(special file"):
        safe_extract(arc, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_zip_backslash_names_become_folders(tmp_path):
    arc = _zip(tmp_path / "w.zip", [("imgs\\a.png", b"P", REG)])
    safe_extract(arc, tmp_path / "out")
    assert (tmp_path / "out" / "imgs" / "a.png").read_bytes() == b"P"


@pytest.mark.parametrize("name", ["C:\\evil.txt", "c:/evil.txt", "\\\\server\\share\\x.txt",
                                  "..\\evil.txt"])  # fmt: skip
def test_zip_drive_letter_unc_and_backslash_escapes_are_refused(tmp_path, name):
    arc = _zip(tmp_path / "w.zip", [("ok.txt", b"x", REG), (name, b"evil", REG)])
    with pytest.raises(ColorbenchError, match="the archive is unsafe"):
        safe_extract(arc, tmp_path / "out" / "t")
    assert list((tmp_path / "out" / "t").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["t"]


def test_zip_bomb_is_refused_by_declared_size(tmp_path):
    arc = _zip(tmp_path / "bomb.zip", [("zeros.bin", bytes(1_000_000), REG)])
    assert arc.stat().st_size < 5_000  # a thousand-fold expansion
    with pytest.raises(ColorbenchError, match="declares more than 100000 bytes.*archive bomb"):
        safe_extract(arc, tmp_path / "out", max_bytes=100_000)
    assert list((tmp_path / "out").iterdir()) == []


def test_tar_bomb_is_stopped_while_writing(tmp_path):
    arc = tmp_path / "bomb.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        info = tarfile.TarInfo("zeros.bin")
        info.size = 1_000_000
        tf.addfile(info, io.BytesIO(bytes(info.size)))
    with pytest.raises(ColorbenchError, match="expands to more than 100000 bytes"):
        safe_extract(arc, tmp_path / "out", max_bytes=100_000)
    assert list((tmp_path / "out").iterdir()) == []
    assert safe_extract(arc, tmp_path / "ok", max_bytes=2_000_000) == 1
