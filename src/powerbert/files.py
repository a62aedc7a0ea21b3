"""Atomic writes: every output goes to a temporary name first and is renamed when complete."""

import json
import os
import shutil
from pathlib import Path
from typing import Callable

from .errors import PowerBertError


def check_writable_folder(path: Path, option: str, replaced_whole: bool = False) -> None:
    """Before any work: an output folder that can be made, i.e. not an existing file, and writable where it is
    written: in itself (filled in place), or with replaced_whole in its parent (written beside it under a
    temporary name and renamed). `option` names the command-line option in the one-line error."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PowerBertError(f"{option} {path} is a file; give a folder")
    parent = path.resolve().parent if replaced_whole else path.resolve()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise PowerBertError(f"{option} {path} cannot be written: no write permission in {parent}")


def write_text_atomic(path: Path, text: str) -> None:
    """Write text so that a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: object) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def save_figure_atomic(figure, path: Path) -> None:
    """Save a matplotlib figure as PNG under a temporary name, then rename."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    figure.savefig(tmp, dpi=120)
    os.replace(tmp, path)


def replace_directory(tmp: Path, target: Path) -> None:
    """Move a fully written directory into place, so a reader never sees half of it."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def write_directory_atomic(target: Path, write: Callable[[Path], object]) -> None:
    """Let `write` fill a temporary directory, then move it into place as `target`."""
    target = Path(target)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write(tmp)
    except BaseException:  # a failed or interrupted write leaves nothing half-made behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_directory(tmp, target)
