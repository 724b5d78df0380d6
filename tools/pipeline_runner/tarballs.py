"""Code and model tarballs, unpacked and packed as the SageMaker containers do."""

from __future__ import annotations

import tarfile
from pathlib import Path

from tools.pipeline_runner.errors import PipelineError


def extract(tarball: Path, target: Path, *, step: str, field: str) -> None:
    if not tarball.is_file() or not tarfile.is_tarfile(tarball):
        raise PipelineError(f"{tarball.name} is not a tarball (was the code input downloaded?)", step=step,
                            field=field)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:*") as archive:
        # "data" refuses absolute paths and links out of the target.
        archive.extractall(target, filter="data")


def pack(source: Path, tarball: Path) -> Path:
    """``model.tar.gz`` as training jobs write it: the directory's contents at the archive's top level."""
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted(source.iterdir()):
            archive.add(path, arcname=path.name)
    return tarball
