"""The training code (``training/``) as a deterministic ``sourcedir.tar.gz`` S3 file asset.

Script mode wants a gzipped tarball; a CDK *directory* asset is a zip, so the
tarball is built here and shipped as a *file* asset. Every build of the same
sources yields the same bytes (sorted entries, zero mtimes and ids, normalised
modes, gzip header without name or time), so the asset hash, the S3 key and
the pipeline definition only change when the code does, and a no-op deploy
stays a no-op.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Name script mode and the SageMaker SDK give the code tarball.
TARBALL_NAME = "sourcedir.tar.gz"
#: Nothing that only serves development reaches the container: byte code would
#: also make the tarball depend on which Python last ran the tests.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".*",
    "tests",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    "*.egg-info",
    # Emulates the container on a laptop; the container is the real thing.
    "local_runner.py",
)


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _walk(source_dir: Path, excludes: Sequence[str]) -> Iterator[Path]:
    """Every included path under ``source_dir`` in a stable, locale-independent order."""
    for entry in sorted(source_dir.iterdir(), key=lambda p: p.name):
        if _excluded(entry.name, excludes):
            continue
        if entry.is_symlink():
            # A link's target may lie outside the tree or differ per machine.
            raise ValueError(f"{entry} is a symlink; training code must be plain files")
        yield entry
        if entry.is_dir():
            yield from _walk(entry, excludes)


def _tar_info(path: Path, arcname: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(arcname)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if path.is_dir():
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = path.stat().st_size
        executable = path.stat().st_mode & stat.S_IXUSR
        info.mode = 0o755 if executable else 0o644
    return info


def build_tarball(source_dir: Path, *, excludes: Sequence[str] = DEFAULT_EXCLUDES) -> bytes:
    """The gzipped tarball of ``source_dir``'s included files, paths relative to it."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise ValueError(f"training code directory {source_dir} does not exist")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in _walk(source_dir, excludes):
            info = _tar_info(path, path.relative_to(source_dir).as_posix())
            if info.isdir():
                tar.addfile(info)
            else:
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
    compressed = io.BytesIO()
    # filename="" and mtime=0 keep the build machine's name and clock out of the header.
    with gzip.GzipFile(filename="", fileobj=compressed, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()


def write_tarball(source_dir: Path, build_dir: Path, *, excludes: Sequence[str] = DEFAULT_EXCLUDES) -> Path:
    """Build into ``build_dir/sourcedir.tar.gz`` atomically (parallel test workers share the path)."""
    data = build_tarball(source_dir, excludes=excludes)
    build_dir.mkdir(parents=True, exist_ok=True)
    target = build_dir / TARBALL_NAME
    if target.is_file() and target.read_bytes() == data:
        return target
    with tempfile.NamedTemporaryFile(dir=build_dir, prefix=".sourcedir-", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    return target


class TrainingCodeAsset(Construct):
    """``training/`` as one S3 object in the CDK bootstrap assets bucket.

    :param source_dir: the script-mode source directory; default ``training/`` of the repo.
    :param build_dir: where the tarball is built before CDK stages it; default
        ``build/training-code`` of the repo (git-ignored, independent of ``cdk.out``).
    :param excludes: ``fnmatch`` patterns matched against every file and folder
        name; default :data:`DEFAULT_EXCLUDES`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        source_dir: Path = REPO_ROOT / "training",
        build_dir: Path = REPO_ROOT / "build" / "training-code",
        excludes: Sequence[str] = DEFAULT_EXCLUDES,
    ) -> None:
        super().__init__(scope, id)
        self.tarball = write_tarball(Path(source_dir), Path(build_dir), excludes=excludes)
        self.asset = s3_assets.Asset(self, "Tarball", path=str(self.tarball))

    @property
    def s3_url(self) -> str:
        """``s3://<bucket>/<key>``: the S3Uri of the jobs' code input."""
        return self.asset.s3_object_url

    @property
    def object_key(self) -> str:
        """``<hash>.gz``: also the file name a job's code input is downloaded as."""
        return self.asset.s3_object_key

    @property
    def object_arn(self) -> str:
        return f"arn:aws:s3:::{self.asset.s3_bucket_name}/{self.asset.s3_object_key}"
