"""The product installs and runs without the stand-ins: Faker and trustme come only with the
`sandbox` extra, and `carnet --help`, `init`, `status` work when neither they nor `sandbox` can be
imported; `carnet sandbox serve` then says which extra to install."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement

STAND_IN_ONLY = {"faker", "trustme"}

# Runs `carnet` with an import hook that refuses the stand-ins and their dependencies, as on a
# machine where `pip install carnet` (no extras) was run.
WITHOUT_SANDBOX = """
import sys
from importlib.abc import MetaPathFinder

class Refuse(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"faker", "trustme", "sandbox"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Refuse())
sys.argv = ["carnet", *sys.argv[1:]]
from connector.cli.main import main
main()
"""


def _carnet_without_sandbox(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_SANDBOX, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_base_install_requires_neither_faker_nor_trustme() -> None:
    base, extra = set(), set()
    for line in requires("carnet") or []:
        req = Requirement(line)
        name = req.name.lower()
        (extra if req.marker and "extra" in str(req.marker) else base).add(name)
    assert not STAND_IN_ONLY & base, f"stand-in dependencies at run time: {STAND_IN_ONLY & base}"
    assert extra >= STAND_IN_ONLY  # they come with the sandbox extra


def test_carnet_runs_without_the_stand_ins(tmp_path: Path) -> None:
    shown = _carnet_without_sandbox(tmp_path, "--help")
    assert shown.returncode == 0, shown.stderr
    assert "sync" in shown.stdout
    made = _carnet_without_sandbox(tmp_path, "init")
    assert made.returncode == 0, made.stderr
    status = _carnet_without_sandbox(tmp_path, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert "Traceback" not in status.stderr


def test_sandbox_serve_without_the_extra_names_it(tmp_path: Path) -> None:
    done = _carnet_without_sandbox(tmp_path, "sandbox", "serve")
    assert done.returncode == 2
    assert "pip install 'carnet[sandbox]'" in done.stderr
    assert "Traceback" not in done.stderr
