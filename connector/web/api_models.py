"""The shapes the JSON API answers with, declared so /api/v1/openapi.json says what each route
returns (FastAPI checks every answer against them; schemathesis checks the document). They mirror
the service functions' dictionaries: a field added there is added here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Visibility = Literal["hidden", "discoverable", "full"]


NO_NUL = r"^[^\x00]*$"  # text the store can hold (PostgreSQL refuses NUL characters)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Problem(_Out):
    """Every refusal: 400 a request the service refuses, 401 nobody signed in, 403 not yours,
    404 no such route, 422 a request that does not match this document."""

    error: str


class Me(_Out):
    email: str
    name: str
    team: str | None
    roles: list[str]


class MemberRef(_Out):
    name: str
    email: str
    team: str | None


class Contact(_Out):
    name: str
    email: str


class Relationship(_Out):
    relationship_id: int
    member: MemberRef
    yours: bool
    visibility: Visibility
    strength: int | None
    rating: int | None
    score: int | None
    disagreement: bool
    shareability: str
    exclusive: bool
    last_interaction_at: str | None
    notes: str | None


class NetworkPerson(_Out):
    id: int
    name: str
    title: str | None
    org: str | None
    email: str | None


class NetworkRow(Relationship):
    person: NetworkPerson
    waiting: bool  # in its grace period: shown to nobody else until the holder chooses
    published_at: str | None  # when a waiting one takes the default shareability


class Rated(_Out):
    relationship_id: int
    person: str
    changes: dict[str, list[Any]]


class Brief(_Out):
    id: int
    name: str
    title: str | None


class OrgRef(_Out):
    id: int
    name: str


class Known(_Out):
    """A person with the colleagues the viewer may see knowing them."""

    id: int
    name: str
    title: str | None
    level: str | None
    phone: str | None
    emails: list[str]
    strength: int | None
    known_by: list[Relationship]


class PathRelationship(_Out):
    relationship_id: int
    member: MemberRef
    yours: bool
    visibility: Visibility
    strength: int | None
    exclusive: bool


class Path(_Out):
    """A second-degree route: someone the viewer's colleagues know, next to the person."""

    person: Brief
    via: Brief
    link: Literal["manager", "direct_report"]
    known_by: list[PathRelationship]


class WhoKnows(_Out):
    kind: Literal["person", "org"]
    query: str
    person: Brief | None = None
    org: OrgRef | None = None
    known_people: int
    people: list[Known]
    paths: list[Path]


class IntroPerson(_Out):
    name: str
    title: str | None
    org: str | None


class Intro(_Out):
    id: int
    status: str
    person: IntroPerson
    requester: Contact
    broker: Contact
    reason: str | None
    response: str | None
    requested_at: str | None
    decided_at: str | None
    made_at: str | None


class Intros(_Out):
    as_: str = Field(alias="as")
    requested: list[Intro]
    brokering: list[Intro]


class IntroRequested(_Out):
    id: int
    status: str
    person: Contact
    broker: Contact
    strength: int | None
    exclusive: bool


class Subject(_Out):
    type: str
    id: str | None


class AuditRelationship(_Out):
    id: int
    holder: str
    person: str


class Event(_Out):
    id: int
    at: str
    action: str
    actor: Contact | None
    subject: Subject
    relationships: list[AuditRelationship]
    details: dict[str, Any]


class Audit(_Out):
    reader: str | None
    events: list[Event]


class Token(_Out):
    id: int
    label: str
    member: str
    created_at: str
    revoked_at: str | None


class IssuedToken(Token):
    token: str = Field(description="shown once: the store keeps its hash only")
