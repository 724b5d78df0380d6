"""Where the run's data lives: the emulator's S3 (the real run) or a directory (fast negative tests).

Both follow SageMaker's ``S3Prefix`` semantics: every object whose key starts
with the prefix is downloaded to the local path under its key remainder, and
a prefix naming one object (``.../model.tar.gz``) lands as that file name.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def split_uri(uri: str) -> tuple[str, str]:
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return bucket, key


def _relative(key: str, prefix: str) -> str:
    rest = key[len(prefix):].lstrip("/")
    return rest or key.rsplit("/", 1)[-1]


class Storage:
    """The operations a local run needs; subclasses implement the four primitives."""

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        raise NotImplementedError

    def get(self, bucket: str, key: str, target: Path) -> None:
        raise NotImplementedError

    def put(self, source: Path, bucket: str, key: str) -> None:
        raise NotImplementedError

    def read(self, uri: str) -> bytes:
        raise NotImplementedError

    def download_prefix(self, uri: str, target: Path) -> list[Path]:
        """Every object under ``uri`` into ``target``; an empty prefix returns []."""
        bucket, prefix = split_uri(uri)
        files = []
        for key in self.list_keys(bucket, prefix):
            if key.endswith("/"):
                continue
            local = target / _relative(key, prefix)
            local.parent.mkdir(parents=True, exist_ok=True)
            self.get(bucket, key, local)
            files.append(local)
        return files

    def upload_dir(self, source: Path, uri: str) -> list[str]:
        """Every file under ``source`` to ``uri/<relative path>``; the URIs written."""
        bucket, prefix = split_uri(uri)
        written = []
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            key = f"{prefix.rstrip('/')}/{path.relative_to(source).as_posix()}".lstrip("/")
            self.put(path, bucket, key)
            written.append(f"s3://{bucket}/{key}")
        return written

    def upload_file(self, source: Path, uri: str) -> str:
        bucket, key = split_uri(uri)
        self.put(source, bucket, key)
        return uri


class S3Storage(Storage):
    """A boto3 S3 client, e.g. ``Emulator.client("s3")``."""

    def __init__(self, client) -> None:
        self.client = client

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return sorted(keys)

    def get(self, bucket: str, key: str, target: Path) -> None:
        self.client.download_file(bucket, key, str(target))

    def put(self, source: Path, bucket: str, key: str) -> None:
        self.client.upload_file(str(source), bucket, key)

    def read(self, uri: str) -> bytes:
        bucket, key = split_uri(uri)
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()


class LocalStorage(Storage):
    """``s3://bucket/key`` is ``<root>/bucket/key``: a stand-in for tests that never reach the registry."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        base = self.root / bucket
        if not base.is_dir():
            return []
        keys = (p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix))

    def get(self, bucket: str, key: str, target: Path) -> None:
        shutil.copy2(self.root / bucket / key, target)

    def put(self, source: Path, bucket: str, key: str) -> None:
        target = self.root / bucket / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)

    def read(self, uri: str) -> bytes:
        bucket, key = split_uri(uri)
        path = self.root / bucket / key
        if not path.is_file():
            raise FileNotFoundError(uri)
        return path.read_bytes()
