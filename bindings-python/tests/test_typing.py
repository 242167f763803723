"""The package's stubs and py.typed let `mypy --strict` check an application's use of the API."""

from __future__ import annotations

import pathlib
import subprocess
import sys


def test_mypy_strict_accepts_typical_use() -> None:
    example = pathlib.Path(__file__).parent / "typing" / "example.py"
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(example)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_rejects_a_wrong_use() -> None:
    # The check must be able to fail: a token is not an int.
    bad = pathlib.Path(__file__).parent / "typing" / "bad_example.py"
    bad.write_text("import entra_token\nc = entra_token.ClientSecretCredential('t', 'c', 's')\nx: int = c.get_token('s').token\n")
    try:
        result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(bad)], capture_output=True, text=True)
    finally:
        bad.unlink()
    assert result.returncode != 0 and "Incompatible types" in result.stdout, result.stdout


def test_stubs_match_the_runtime() -> None:
    # stubtest imports the installed package and compares every signature with the stubs, so a
    # parameter added in Rust but not in _native.pyi (or renamed, or given another default) fails here.
    result = subprocess.run([sys.executable, "-m", "mypy.stubtest", "entra_token"], capture_output=True, text=True, cwd=pathlib.Path(__file__).parent)
    assert result.returncode == 0, result.stdout + result.stderr
