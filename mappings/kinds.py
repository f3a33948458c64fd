"""The kinds of overlay record a mapping makes, one `KindSpec` each: the entity it becomes, its
values, its references and what a record of it must carry. Every other table of kinds derives from
KINDS: the loader's checks, the compiled plans, and ingest (its handlers sit in connector.ingest).

Data only. A new kind is one row here plus its handler in `connector.ingest.pages.HANDLERS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from mappings.vocabulary import VALUE_TYPES, ValueType, article


@dataclass(frozen=True)
class Ref:
    """A reference a record of a kind may carry: the id of another record."""

    to: str  # the kind it points at
    many: bool = False  # several ids (HubSpot associations), each resolved
    looked_up: bool = True  # ingest resolves it (False: a mapping may give it; ingest ignores it)
    column: str | None = None  # the entity's store column holding the target's id
    waits: bool = False  # an unknown target is kept pending on the link until it arrives


@dataclass(frozen=True)
class Needs:
    """What lets ingest match a record: every name of one of `sets`; without, `why` refuses it."""

    sets: tuple[frozenset[str], ...]
    why: str


@dataclass(frozen=True)
class KindSpec:
    """One kind of overlay record, as mappings name it and ingest stores it."""

    name: str
    entity: str  # the overlay entity its records become (a source link's `entity`)
    values: Mapping[str, ValueType]  # the values a mapping may give it, in the order listed
    refs: Mapping[str, Ref] = field(default_factory=dict)
    # what a mapping object (and a record) of this kind must give: one name of each group
    required: tuple[tuple[str, ...], ...] = ()
    needs: Needs | None = None  # a record's stricter need, instead of `required`

    @property
    def value_names(self) -> tuple[str, ...]:
        return tuple(self.values)

    @property
    def ref_kinds(self) -> dict[str, str]:
        """Every reference name it may carry -> the kind it points at (one id or several)."""
        return {name: ref.to for name, ref in self.refs.items()}

    @property
    def many_refs(self) -> frozenset[str]:
        return frozenset(name for name, ref in self.refs.items() if ref.many)

    @property
    def looked_up(self) -> tuple[str, ...]:
        """The single references ingest resolves (a record's many references always are)."""
        return tuple(n for n, ref in self.refs.items() if ref.looked_up and not ref.many)

    @property
    def waiting(self) -> tuple[str, ...]:
        """The references kept pending on the link while their target is unknown."""
        return tuple(name for name, ref in self.refs.items() if ref.waits)

    def max_length(self, value: str) -> int | None:
        return self.values[value].max_length

    def missing(self, present: set[str]) -> str | None:
        """Why a record carrying the `present` names cannot be taken (None: it can)."""
        if self.needs is not None:
            return None if any(s <= present for s in self.needs.sets) else self.needs.why
        for alternatives in self.required:
            if not present & set(alternatives):
                return f"{article(self.name)} needs {' or '.join(alternatives)}"
        return None


def _values(*names: str, **shorter: int) -> dict[str, ValueType]:
    """The named value types of the vocabulary; `shorter`: where the store column is shorter."""
    out = {name: VALUE_TYPES[name] for name in names}
    for name, limit in shorter.items():
        out[name] = replace(out[name], max_length=limit)
    return out


_PEOPLE = ("first_name", "last_name", "name")

_KIND_SPECS = (
    KindSpec(
        "member",
        "member",
        _values("email", *_PEOPLE, "team", "country", "title", "active", "user_id", name=400),
        # who they report to (Salesforce User.ManagerId): a manager may come later in the pull
        {"manager": Ref("member", column="manager_id", waits=True)},
        required=(("email",),),
    ),
    KindSpec(
        "org",
        "org",
        _values("name", "domains", "country", "industry", name=400),
        {
            "parent": Ref("org", column="parent_id", waits=True),
            "owner": Ref("member", looked_up=False),
        },
        required=(("name",),),
    ),
    KindSpec(
        "person",
        "person",
        _values(
            "emails",
            *_PEOPLE,
            "title",
            "level",
            "country",
            "phone",
            "rating",
            "shareability",
            "stance",
            "influence",
            "modified_by",
        ),
        {
            "org": Ref("org", column="org_id", waits=True),
            "reports_to": Ref("person", column="reports_to_id", waits=True),
            "owner": Ref("member", waits=True),  # evidence on the owner's relationship
        },
        required=(("name", "emails"),),
        needs=Needs(
            (frozenset({"emails"}), frozenset({"name", "org"})),
            "a person needs a valid email, or a name and an org to be matched by",
        ),
    ),
    KindSpec(
        "opportunity",
        "opportunity",
        _values(
            "name", "amount", "currency", "stage", "status", "close_date", "created_at", name=400
        ),
        {
            "org": Ref("org", column="org_id", waits=True),
            "owner": Ref("member", column="owner_id", waits=True),
            "persons": Ref("person", many=True),  # deal -> contacts: contact roles without a role
        },
        required=(("name",),),
    ),
    KindSpec(
        "contact_role",
        "contact_role",
        _values("role", "is_primary"),
        {"opportunity": Ref("opportunity"), "person": Ref("person")},
        required=(("opportunity",), ("person",)),
    ),
    KindSpec(
        "activity",
        "activity",
        _values("kind", "at", "subject"),
        {
            "person": Ref("person"),
            "member": Ref("member"),
            "org": Ref("org", looked_up=False),
            "persons": Ref("person", many=True),  # engagement -> contacts
        },
        required=(("member",), ("person", "persons", "org")),
    ),
    # an entry in a rep's address book; `member` (the mailbox, its `$container`) is its owner
    KindSpec(
        "address_book",
        "person",
        _values("emails", *_PEOPLE, "company", "title", "phone"),
        {"member": Ref("member")},
        required=(("member",), ("name", "emails")),
    ),
)

KINDS: dict[str, KindSpec] = {spec.name: spec for spec in _KIND_SPECS}
