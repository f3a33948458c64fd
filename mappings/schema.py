"""The pydantic models of a mapping file (`version: 1`), and what a loaded mapping answers:
its objects in ingest order, the `ObjectSpec` an adapter pulls, the compiled level rules.

Shapes are checked here; how the parts fit together (value names, references, outbound types) is
checked by `mappings.checks`. docs/mappings.md describes the format for admins.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    PrivateAttr,
    field_validator,
    model_validator,
)

from connector.core.records import ObjectSpec
from connector.core.yamlfile import line_of
from mappings.kinds import KINDS
from mappings.transforms import LEVELS, TRANSFORMS, Opts, plain

SOURCES = ("salesforce", "hubspot", "exchange")
SUPPORTED_VERSIONS = (1,)
Scalar = str | int | float | bool

# A field path: `Email`, `emailAddresses[].address` (every item), `teams[0].name`, or one of the
# record's own attributes `$id` and `$container` (Exchange: the mailbox's user id).
_PATH = re.compile(r"^(\$id|\$container|[A-Za-z_][\w-]*(\[\d*\]|\.[A-Za-z_][\w-]*)*)$")


def _path(value: str) -> str:
    if not _PATH.match(value):
        raise ValueError(
            f"not a field path: {value!r} (a field name, optionally with .sub or [] / [0] parts)"
        )
    return value


def root_field(path: str) -> str | None:
    """The CRM field a path reads (None for `$id` / `$container`, which are not fields)."""
    return None if path.startswith("$") else re.split(r"[.\[]", path, maxsplit=1)[0]


def is_pseudo(field: str) -> bool:
    """Fields whose names start with `_` are supplied by the adapter, never asked of the CRM."""
    return field.startswith("_")


FieldPath = Annotated[str, AfterValidator(_path)]


def _regex(value: str) -> str:
    try:
        re.compile(plain(value), re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"bad regular expression {value!r}: {exc}") from None
    return value


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _shorthand(value: Any) -> Any:
    """`first_name: FirstName` is short for `first_name: {from: FirstName}`."""
    return {"from": value} if isinstance(value, str) else value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ValueRule(Strict):
    """Where one overlay value comes from, and how it is transformed."""

    from_: FieldPath | list[FieldPath] | None = Field(None, alias="from")
    first: list[FieldPath] | None = None  # the first of these that gives a value
    const: Scalar | None = None
    default: Scalar | None = None  # used when the source fields are empty
    transform: str | None = None  # default: the value's own (email for emails, country, ...)
    sep: str | None = None  # join
    split: str | None = None  # list values: split text on this ("a@x.com;b@y.com")
    choices: list[str] | dict[str, str] | None = None  # choice
    min: float | None = None  # number, int
    max: float | None = None
    max_length: PositiveInt | None = None
    optional: bool = False  # read the field only where the CRM has it (e.g. CurrencyIsoCode)

    _transform: str = PrivateAttr("trim")  # resolved by the loader
    _opts: Opts = PrivateAttr(default_factory=Opts)

    @field_validator("transform")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None and v not in TRANSFORMS:
            raise ValueError(f"unknown transform {v!r} (known: {', '.join(TRANSFORMS)})")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> ValueRule:
        given = [k for k in ("from", "first", "const") if getattr(self, _attr(k)) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of from, first or const")
        return self

    @property
    def sources(self) -> list[str]:
        if isinstance(self.from_, str):
            return [self.from_]
        return list(self.from_ or self.first or [])


def _attr(key: str) -> str:
    return "from_" if key == "from" else key


class RefRule(Strict):
    """A reference: the id in a field (or, on HubSpot, an association) pointing at an object."""

    from_: FieldPath | None = Field(None, alias="from")
    association: str | None = None  # HubSpot: the associated object type, e.g. companies
    to: str
    optional: bool = False

    @model_validator(mode="after")
    def _has_source(self) -> RefRule:
        if self.from_ is None and self.association is None:
            raise ValueError("give from (a field holding the id) or association")
        return self


class ObjectMap(Strict):
    """One CRM object: what kind of overlay record it becomes, and from which fields."""

    kind: str
    cursor: str | None = None  # default: the file's cursor; null: this object has none
    filter: dict[FieldPath, Scalar | list[Scalar]] = Field(default_factory=dict)
    values: dict[str, Annotated[ValueRule, BeforeValidator(_shorthand)]] = Field(
        default_factory=dict
    )
    refs: dict[str, RefRule] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in KINDS:
            raise ValueError(f"unknown kind {v!r} (known: {', '.join(KINDS)})")
        return v


class LevelRule(Strict):
    level: str
    match: Annotated[list[Annotated[str, AfterValidator(_regex)]], BeforeValidator(_one_or_many)]

    @field_validator("level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v not in LEVELS:
            raise ValueError(f"unknown level {v!r} (known: {', '.join(LEVELS)})")
        return v


class OutField(Strict):
    """One CRM field Carnet writes: which overlay value, and the field's type as created."""

    value: str
    type: str
    label: str = Field(min_length=1, max_length=80)
    description: str | None = None
    length: PositiveInt | None = None  # Salesforce text types
    precision: PositiveInt | None = None  # Salesforce Number / Percent / Currency
    scale: int | None = Field(None, ge=0)
    field_type: str | None = None  # HubSpot: text, textarea, number, booleancheckbox, date


class OutGroup(Strict):
    name: str = "carnet"
    label: str = "Carnet"


class Outbound(Strict):
    group: OutGroup | None = None  # HubSpot: the property group Carnet's properties live in
    objects: dict[str, dict[str, OutField]] = Field(default_factory=dict)


class Mapping(Strict):
    version: int
    source: str
    cursor: str | None = None  # the default change-cursor field of every object
    levels: list[LevelRule] | None = None  # None: the packaged rules (mappings/levels.yaml)
    objects: dict[str, ObjectMap]
    outbound: Outbound = Field(default_factory=Outbound)

    _path: Path = PrivateAttr(default=Path("mapping.yaml"))
    _doc: Any = PrivateAttr(default=None)
    _level_rules: tuple[tuple[str, re.Pattern[str]], ...] = PrivateAttr(default=())

    @field_validator("version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v not in SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported version {v}: this Carnet reads version 1")
        return v

    @field_validator("objects")
    @classmethod
    def _some(cls, v: dict[str, ObjectMap]) -> dict[str, ObjectMap]:
        if not v:
            raise ValueError("list at least one CRM object")
        return v

    # -- what a loaded mapping answers --------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @property
    def level_rules(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        return self._level_rules

    def line(self, *loc: Any) -> int | None:
        return line_of(self._doc, loc) if self._doc is not None else None

    def cursor_field(self, obj: str) -> str | None:
        om = self.objects[obj]
        return om.cursor if "cursor" in om.model_fields_set else self.cursor

    def outbound_fields(self, obj: str) -> dict[str, OutField]:
        return self.outbound.objects.get(obj, {})

    def optional_fields(self, obj: str) -> set[str]:
        """Fields read only where the CRM has them: `optional: true` ones and outbound ones."""
        om = self.objects[obj]
        rules: list[ValueRule | RefRule] = [*om.values.values(), *om.refs.values()]
        out = {f for r in rules if r.optional for f in _rule_fields(r)}
        return out | set(self.outbound_fields(obj))

    def inbound_fields(self, obj: str) -> list[str]:
        """Every CRM field the inbound rules of `obj` read (values, refs, filter, cursor)."""
        om = self.objects[obj]
        rules: list[ValueRule | RefRule] = [*om.values.values(), *om.refs.values()]
        wanted = [f for r in rules for f in _rule_fields(r)]
        wanted += [f for p in om.filter if (f := root_field(p))]
        cursor = self.cursor_field(obj)
        wanted += [cursor] if cursor else []
        return list(dict.fromkeys(wanted))

    def spec(self, obj: str, available: Collection[str] | None = None) -> ObjectSpec:
        """What the adapter pulls of `obj`. `available` (the describe's field names) lets optional
        and outbound fields in where the CRM has them; without it they are left out."""
        om = self.objects[obj]
        wanted = [*self.inbound_fields(obj), *self.outbound_fields(obj)]
        optional = self.optional_fields(obj)
        have = {a.casefold() for a in available} if available is not None else set()
        fields = [
            f
            for f in dict.fromkeys(wanted)
            if not is_pseudo(f) and (f not in optional or f.casefold() in have)
        ]
        assocs = sorted({r.association for r in om.refs.values() if r.association})
        return ObjectSpec(name=obj, fields=tuple(fields), associations=tuple(assocs))


def _rule_fields(rule: ValueRule | RefRule) -> list[str]:
    paths = rule.sources if isinstance(rule, ValueRule) else [rule.from_] if rule.from_ else []
    return [f for p in paths if (f := root_field(p))]
