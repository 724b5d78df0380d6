"""The repo's constructs/ folder must extend, never shadow, the constructs library."""

from __future__ import annotations

import importlib
from pathlib import Path

import constructs


def test_constructs_folder_has_no_init(repo_root: Path) -> None:
    # GIVEN the repo's constructs/ folder
    # THEN it is a plain folder: an __init__.py would shadow the library, a _jsii
    # module would hijack its runtime
    assert not (repo_root / "constructs" / "__init__.py").exists()
    assert not list((repo_root / "constructs").glob("_jsii*"))


def test_library_construct_is_the_jsii_one() -> None:
    # WHEN Construct is imported the usual way THEN it is the library's class
    assert constructs.Construct.__module__ == "constructs"
    assert Path(constructs.__file__).parent.parent.name == "site-packages"


def test_repo_modules_resolve_from_the_folder(repo_root: Path) -> None:
    # WHEN a module of ours is imported through the library's namespace
    module = importlib.import_module("constructs.secure_bucket")
    # THEN it is the repo's file
    assert Path(module.__file__).resolve() == repo_root / "constructs" / "secure_bucket.py"
