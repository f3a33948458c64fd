"""Loading a mapping file: YAML with lines, the schema, then the checks; every problem is reported
at once as a MappingError naming file and line, in the admin's words (mappings.messages), and
the CLI exits 2 on it.

`load_mapping(path, source)` gives a ready `Mapping`: transforms resolved, level rules compiled.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from connector.core.errors import MappingError, Problem
from connector.core.yamlfile import dotted, line_of, load_yaml, to_plain
from mappings.checks import check_mapping, check_object, effective_transform
from mappings.messages import admin_problems
from mappings.schema import SOURCES, LevelRule, Mapping, ObjectMap, RefRule, Strict, ValueRule
from mappings.transforms import Opts, plain
from mappings.vocabulary import VALUE_TYPES

PACKAGED = Path(__file__).resolve().parent
LEVELS_FILE = PACKAGED / "levels.yaml"


def default_path(source: str) -> Path:
    """The mapping file shipped with Carnet for a source."""
    return PACKAGED / f"{source}.yaml"


def mapping_path(source: str, configured: Path | None) -> Path:
    return configured if configured is not None else default_path(source)


def load_mapping(path: str | Path, source: str) -> Mapping:
    """Read, validate and prepare a mapping file; every problem in one MappingError."""
    path = Path(path)
    doc, data, problems = _read(path)
    name = str(path)
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as err:
        problems += admin_problems(name, doc, err)
        problems += _located(name, doc, _partial_checks(data, source))
        raise MappingError(_sorted(problems)) from None
    mapping._path, mapping._doc = path, doc
    problems += _located(name, doc, _source_check(mapping.source, source) + check_mapping(mapping))
    if problems:
        raise MappingError(_sorted(problems))
    _prepare(mapping)
    return mapping


def _read(path: Path) -> tuple[Any, dict[str, Any], list[Problem]]:
    """The document, its plain data, and the keys given twice (the rest is still checked)."""
    doc, problems = load_yaml(path)
    if problems:
        duplicates = _duplicates(path)
        if not duplicates:
            raise MappingError(problems)
        yaml = YAML(typ="rt")
        yaml.allow_duplicate_keys = True
        doc, problems = yaml.load(path.read_text(encoding="utf-8")), duplicates
    if not isinstance(doc, dict):
        raise MappingError(
            [*problems, Problem(str(path), "", "expected a mapping (key: value) at the top", 1)]
        )
    return doc, to_plain(doc), problems


def _located(file: str, doc: Any, found: list[tuple[tuple[Any, ...], str]]) -> list[Problem]:
    return [Problem(file, dotted(loc), msg, line_of(doc, loc) or 1) for loc, msg in found]


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line or 0, p.key))


def _source_check(declared: Any, source: str) -> list[tuple[tuple[Any, ...], str]]:
    if declared not in SOURCES:
        return [(("source",), f"unknown source {declared!r} (known: {', '.join(SOURCES)})")]
    if declared != source:
        return [(("source",), f"this is a {declared} mapping, but it is set for {source}")]
    return []


def _partial_checks(data: dict[str, Any], source: str) -> list[tuple[tuple[Any, ...], str]]:
    """When the file as a whole fails its schema, still check each object that passes alone."""
    found = _source_check(data.get("source"), source) if "source" in data else []
    objects = data.get("objects")
    if not isinstance(objects, dict):
        return found
    salvaged = {obj: _salvage(body) for obj, body in objects.items()}
    valid = {obj: (om, whole) for obj, (om, whole) in salvaged.items() if om is not None}
    order = list(objects)
    kinds = {obj: om.kind for obj, (om, _) in valid.items()}
    for obj, (om, whole) in valid.items():
        for loc, msg in check_object(obj, om, order, kinds, str(data.get("source")), whole):
            found.append((("objects", obj, *loc), msg))
    return found


def _salvage(body: Any) -> tuple[ObjectMap | None, bool]:
    """The object without its invalid value and reference rules (already reported), so that
    the rest of it can still be checked, and whether none had to be left out."""
    whole = True
    if isinstance(body, dict):
        body = dict(body)
        for key, model in (("values", ValueRule), ("refs", RefRule)):
            if isinstance(body.get(key), dict):
                kept = {k: v for k, v in body[key].items() if _valid(model, v)}
                whole = whole and len(kept) == len(body[key])
                body[key] = kept
    try:
        return ObjectMap.model_validate(body), whole
    except ValidationError:
        return None, False


def _valid(model: type[Strict], value: Any) -> bool:
    try:
        model.model_validate({"from": value} if isinstance(value, str) else value)
    except ValidationError:
        return False
    return True


# -- duplicate keys: two rules onto one target -------------------------------------------------


def _duplicates(path: Path) -> list[Problem]:
    """Every key given twice in one block, with both lines (ruamel stops at the first)."""
    try:
        root = YAML(typ="rt").compose(path.read_text(encoding="utf-8"))
    except Exception:  # not a duplicate-key problem: load_yaml's message stands
        return []
    found: list[Problem] = []
    _walk(root, (), str(path), found)
    return found


def _walk(node: Node | None, loc: tuple[Any, ...], file: str, found: list[Problem]) -> None:
    if isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), file, found)
    if not isinstance(node, MappingNode):
        return
    first: dict[str, int] = {}
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value != "<<":
            line = key.start_mark.line + 1
            if key.value in first:
                found.append(
                    Problem(
                        file,
                        dotted((*loc, key.value)),
                        _dup_message(loc, key.value, first[key.value]),
                        line,
                    )
                )
            first.setdefault(key.value, line)
        _walk(value, (*loc, getattr(key, "value", "?")), file, found)


def _dup_message(loc: tuple[Any, ...], key: str, line: int) -> str:
    if loc and loc[-1] == "values":
        return f"two rules write the overlay value {key!r} (the first at line {line})"
    if len(loc) == 3 and loc[:2] == ("outbound", "objects"):
        return f"two entries write the CRM field {key} (the first at line {line})"
    if loc == ("objects",):
        return f"the object {key} is listed twice (the first at line {line})"
    return f"{key!r} is given twice (the first at line {line})"


# -- preparing a valid mapping ------------------------------------------------------------------


class _LevelsFile(Strict):
    version: int
    levels: list[LevelRule]


@cache
def default_levels() -> tuple[LevelRule, ...]:
    """The level rules shipped in mappings/levels.yaml (used when a file has no `levels:`)."""
    doc, data, problems = _read(LEVELS_FILE)
    if problems:
        raise MappingError(problems)
    try:
        return tuple(_LevelsFile.model_validate(data).levels)
    except ValidationError as err:
        raise MappingError(admin_problems(str(LEVELS_FILE), doc, err)) from None


def compile_levels(rules: list[LevelRule] | tuple[LevelRule, ...]
                   ) -> tuple[tuple[str, re.Pattern[str]], ...]:  # fmt: skip
    """Each rule's patterns as one case-insensitive regex, matched against accent-free text."""
    return tuple(
        (r.level, re.compile("|".join(f"(?:{plain(m)})" for m in r.match), re.IGNORECASE))
        for r in rules
    )


def _opts(value: str, rule: ValueRule, levels: tuple[tuple[str, re.Pattern[str]], ...]) -> Opts:
    vtype = VALUE_TYPES[value]
    if isinstance(rule.choices, dict):
        choices = {k.casefold(): v for k, v in rule.choices.items()}
    else:
        choices = {c.casefold(): c for c in (rule.choices or vtype.words)}
    low, high = vtype.range or (None, None)
    return Opts(
        sep=rule.sep if rule.sep is not None else " ",
        choices=choices,
        min=rule.min if rule.min is not None else low,
        max=rule.max if rule.max is not None else high,
        levels=levels,
    )


def _prepare(mapping: Mapping) -> None:
    rules = mapping.levels if mapping.levels is not None else default_levels()
    mapping._level_rules = compile_levels(rules)
    for om in mapping.objects.values():
        for value, rule in om.values.items():
            rule._transform = effective_transform(value, rule)
            rule._opts = _opts(value, rule, mapping._level_rules)
