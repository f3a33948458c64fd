"""The mappings editor's file work: a text is checked as `carnet mappings check` checks a file,
naming the real file and line; a save replaces the file atomically, keeps the old version as
`.previous`, keeps its permissions, and leaves no staged file behind, saved or refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.core.errors import MappingError, UsageError
from mappings.edit import check_text, read_current, save_text
from mappings.loader import default_path
from tests.e2e.web_admin_support import broken


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "hubspot.yaml"
    path.write_bytes(default_path("hubspot").read_bytes())
    path.chmod(0o640)
    return path


def test_a_problem_names_the_real_file_and_its_line(mapping: Path) -> None:
    bad, line = broken(mapping.read_text())
    with pytest.raises(MappingError) as caught:
        check_text(mapping, "hubspot", bad)
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (str(mapping), line)
    assert problem.key == "objects.owners.values.name.transform"
    assert sorted(p.name for p in mapping.parent.iterdir()) == ["hubspot.yaml"]
    assert check_text(mapping, "hubspot", mapping.read_text())["source"] == "hubspot"


def test_a_save_keeps_the_previous_version_and_refuses_a_stale_or_broken_text(
    mapping: Path,
) -> None:
    old, sha = read_current(mapping)
    assert old is not None
    bad, _ = broken(old.decode())
    with pytest.raises(MappingError):
        save_text(mapping, "hubspot", bad, sha)
    assert mapping.read_bytes() == old and sorted(p.name for p in mapping.parent.iterdir()) == [
        "hubspot.yaml"
    ]
    new = old.decode().replace("\n", "\r\n") + "# a note"  # as a browser sends a text area
    saved = save_text(mapping, "hubspot", new, sha)
    assert mapping.read_bytes() == old + b"# a note\n" and saved.was == sha
    assert saved.previous == mapping.with_name("hubspot.yaml.previous")
    assert saved.previous.read_bytes() == old
    assert mapping.stat().st_mode & 0o777 == 0o640
    with pytest.raises(UsageError, match="changed since you opened it"):
        save_text(mapping, "hubspot", old.decode(), sha)  # `sha` is the version replaced
    assert sorted(p.name for p in mapping.parent.iterdir()) == [
        "hubspot.yaml",
        "hubspot.yaml.previous",
    ]
