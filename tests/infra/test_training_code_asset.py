"""The training code tarball: deterministic bytes, script-mode layout, nothing from development."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from constructs.training_code_asset import TARBALL_NAME, TrainingCodeAsset, build_tarball, write_tarball

from tests.infra.conftest import new_stack

TRAINING_DIR = Path(__file__).resolve().parents[2] / "training"


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()


@pytest.fixture()
def source_copy(tmp_path: Path) -> Path:
    """A copy of training/ with development litter added, so excludes are exercised."""
    source = tmp_path / "training"
    shutil.copytree(TRAINING_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    (source / "smxgb" / "stale.pyc").write_bytes(b"\0")
    (source / "tests").mkdir()
    (source / "tests" / "test_x.py").write_text("")
    (source / ".hidden").write_text("")
    return source


def test_two_builds_are_byte_identical(tmp_path: Path, source_copy: Path) -> None:
    # GIVEN two builds of the same sources, the second after every mtime, mode bit
    # and build directory changed
    first = write_tarball(source_copy, tmp_path / "a").read_bytes()
    for path in source_copy.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    (source_copy / "train.py").chmod(0o600)
    second = write_tarball(source_copy, tmp_path / "b").read_bytes()
    # THEN the bytes (and so the asset hash and S3 key) are the same
    assert first == second
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()


def test_gzip_header_and_entries_carry_no_build_machine_state(source_copy: Path) -> None:
    # WHEN the tarball is built
    data = build_tarball(source_copy)
    # THEN the gzip header has mtime 0 and no file name (FLG byte 0)
    assert data[3] == 0 and data[4:8] == b"\0\0\0\0"
    # AND every entry is owned by 0:0 with empty names, mtime 0 and a normalised mode
    for member in _members(data):
        assert (member.uid, member.gid, member.uname, member.gname, member.mtime) == (0, 0, "", "", 0)
        assert member.mode in (0o644, 0o755), member.name
    # AND entries are in sorted path order within each directory
    names = [m.name for m in _members(data)]
    assert names == sorted(names, key=lambda n: n.split("/"))


def test_layout_is_script_mode_and_excludes_development_files(source_copy: Path) -> None:
    # WHEN the tarball is built from a tree with byte code, tests and hidden files
    names = {m.name for m in _members(build_tarball(source_copy))}
    # THEN the entry scripts sit at the top level and the library beside them
    assert {"train.py", "preprocess.py", "evaluate.py", "smxgb/__init__.py"} <= names
    # AND nothing that only serves development is shipped
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith((".", "tests"))]
    assert "local_runner.py" not in names


def test_symlinks_are_refused(tmp_path: Path) -> None:
    # GIVEN a source tree with a symlink
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("")
    (tmp_path / "src" / "link.py").symlink_to(tmp_path / "src" / "train.py")
    # THEN the build fails naming the link
    with pytest.raises(ValueError, match=r"link\.py is a symlink"):
        build_tarball(tmp_path / "src")


def test_asset_is_a_file_asset_with_a_stable_hash(tmp_path: Path) -> None:
    # GIVEN the construct built twice, in two apps, from the real training/ folder
    first = TrainingCodeAsset(new_stack("A"), "Code", build_dir=tmp_path / "a")
    second = TrainingCodeAsset(new_stack("B"), "Code", build_dir=tmp_path / "b")
    # THEN both ship the same gzipped tarball under the same hash-named key
    assert first.tarball.name == TARBALL_NAME
    assert first.asset.asset_hash == second.asset.asset_hash
    assert first.object_key == second.object_key == f"{first.asset.asset_hash}.gz"
    gzip.decompress(first.tarball.read_bytes())
    # AND its URL and object ARN are literals in the bootstrap bucket (no tokens to resolve)
    assert first.s3_url == f"s3://cdk-hnb659fds-assets-111122223333-us-east-1/{first.object_key}"
    assert first.object_arn == f"arn:aws:s3:::cdk-hnb659fds-assets-111122223333-us-east-1/{first.object_key}"
    # AND CDK uploads the tarball as is (a directory asset would be re-packed as a zip)
    stack = cdk.Stack.of(first)
    cdk.CfnWaitConditionHandle(stack, "AnyResource")  # synth rejects a stack without resources
    assembly = stack.node.root.synth()
    manifest = json.loads((Path(assembly.directory) / f"{stack.artifact_id}.assets.json").read_text())
    source = manifest["files"][first.asset.asset_hash]["source"]
    assert source["packaging"] == "file" and source["path"].endswith(".tar.gz")
