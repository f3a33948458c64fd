"""The overlay's tables (DESIGN.md "The overlay") as typed SQLAlchemy 2.0 models; the account
plan tables are in models_plans, on the same Base. Times are stored as UTC and always come back
timezone-aware, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from connector.store.types import JSONType as JSONType
from connector.store.types import NullableJSON as NullableJSON
from connector.store.types import UTCDateTime as UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHAREABILITY = ("private", "discoverable", "shared")
LEVELS = ("c_level", "vp", "director", "manager", "staff", "unknown")
INTRO_STATES = ("requested", "approved", "declined", "made", "cancelled")
CREDIT_STATES = ("pending", "earned", "void")
OUTBOX_STATES = ("pending", "done", "failed", "parked")
NAMED_DIALECTS = ("sqlite", "postgresql")  # the stores a partial index's predicate is given for


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Member(Timestamped, Base):
    """One of our people; `manager_id`: who they report to in the CRM (User.ManagerId)."""

    __tablename__ = "member"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(400))
    team: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    title: Mapped[str | None] = mapped_column(String(400))
    salesforce_user_id: Mapped[str | None] = mapped_column(String(18), index=True)
    hubspot_owner_id: Mapped[str | None] = mapped_column(String(40), index=True)
    # the HubSpot user behind the owner (`hs_updated_by_user_id` names users, not owners)
    hubspot_user_id: Mapped[str | None] = mapped_column(String(40), index=True)
    mailbox_id: Mapped[str | None] = mapped_column(String(100), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    __table_args__ = (Index("ix_member_manager_id", "manager_id"),)


class Org(Timestamped, Base):
    """An account / company."""

    __tablename__ = "org"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(400), index=True)
    name_key: Mapped[str] = mapped_column(String(400), index=True, default="")  # normalised name
    country: Mapped[str | None] = mapped_column(String(2))
    industry: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org.id", ondelete="SET NULL"))
    deleted_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("org.id", ondelete="SET NULL"))
    domains: Mapped[list[OrgDomain]] = relationship(
        back_populates="org", cascade="all, delete-orphan"
    )


class OrgDomain(Base):
    __tablename__ = "org_domain"
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    org: Mapped[Org] = relationship(back_populates="domains")


class Person(Timestamped, Base):
    """One of their people."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(400))
    last_name: Mapped[str | None] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(800))
    name_key: Mapped[str] = mapped_column(String(800), index=True)  # normalised, for (name, org)
    title: Mapped[str | None] = mapped_column(String(400))
    level: Mapped[str] = mapped_column(String(20), default="unknown")
    country: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(100))
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("org.id", ondelete="SET NULL"), index=True
    )
    reports_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"),
        index=True,  # direct reports (0003)
    )
    deleted_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    emails: Mapped[list[PersonEmail]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )
    __table_args__ = (
        CheckConstraint(f"level IN {LEVELS}", name="level"),
        Index("ix_person_updated", "updated_at"),  # written since a refresh's mark (0012)
    )


class PersonEmail(Base):
    """A person's normalised email address; the first key of identity resolution."""

    __tablename__ = "person_email"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    person: Mapped[Person] = relationship(back_populates="emails")


# a partial index's predicate, the same SQL on both stores: the links still waiting for a target
PENDING_ONLY: dict[str, Any] = {f"{d}_where": text("pending IS NOT NULL") for d in NAMED_DIALECTS}


class SourceLink(Base):
    """(source, object, external id) <-> an overlay row; what the last pull saw there."""

    __tablename__ = "source_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    object: Mapped[str] = mapped_column(String(60))
    external_id: Mapped[str] = mapped_column(String(200))
    entity: Mapped[str] = mapped_column(String(20))  # member, person, org, opportunity, activity
    entity_id: Mapped[int | None]
    modstamp: Mapped[datetime | None]
    seen: Mapped[dict[str, Any] | None]  # the fields the last pull saw (for write-back diffs)
    deleted_at: Mapped[datetime | None]
    merged_into: Mapped[str | None] = mapped_column(String(200))  # the survivor's external id
    # what ingest applied from this record (owner, mailbox member, rating...), to undo on change
    applied: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    # references not resolved yet: name -> [object, external id (or a list of them)]
    pending: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    seen_at: Mapped[datetime | None]  # when a pull last saw it (a full pass tombstones the unseen)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint("source", "object", "external_id"),
        Index("ix_source_link_entity", "entity", "entity_id"),
        # the few links with references still pending (0012); written since a refresh's mark
        Index("ix_source_link_pending", "source", "id", **PENDING_ONLY),
        Index("ix_source_link_updated", "source", "updated_at"),
    )


class IdentityIssue(Base):
    """An ambiguous match, recorded instead of merged silently."""

    __tablename__ = "identity_issue"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    object: Mapped[str] = mapped_column(String(60))
    external_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    candidates: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved: Mapped[bool] = mapped_column(default=False)


WHO_KNOWS_COLUMNS = (
    "person_id", "member_id", "shareability", "exclusive", "rating", "score",
    "last_interaction_at", "id", "discovered_at", "chosen_at",
)  # fmt: skip


# a relationship whose signals hold CRM activities, in each store's SQL: the predicate of the
# partial index ix_relationship_activities, and of the queries that use it (each planner matches
# a partial index by its predicate's text)
HAS_ACTIVITIES = {
    "sqlite": "json_extract(signals, '$.\"activities\"') IS NOT NULL",
    "postgresql": "(signals ->> 'activities') IS NOT NULL",
}
ACTIVITIES_ONLY: dict[str, Any] = {f"{d}_where": text(sql) for d, sql in HAS_ACTIVITIES.items()}


class Relationship(Base):
    """member <-> person: how well, who owns it, what may be shared."""

    __tablename__ = "relationship"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    rating: Mapped[int | None]
    score: Mapped[float | None] = mapped_column(Float)
    signals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_owner: Mapped[bool] = mapped_column(default=False)
    shareability: Mapped[str | None] = mapped_column(String(12))  # None: the config's default
    exclusive: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    last_interaction_at: Mapped[datetime | None]
    # grace period (docs/governance.md): found by a sync at / shareability chosen at (or None)
    discovered_at: Mapped[datetime | None]
    chosen_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint("member_id", "person_id"),
        # who-knows reads a person's relationships from this index alone (0003)
        Index("ix_relationship_who_knows", *WHO_KNOWS_COLUMNS),
        # the few with CRM activities, by person (an account plan's actions; 0011)
        Index("ix_relationship_activities", "person_id", **ACTIVITIES_ONLY),
        Index("ix_relationship_updated", "updated_at"),  # written since a refresh's mark (0012)
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating"),
        CheckConstraint(f"shareability IS NULL OR shareability IN {SHAREABILITY}", name="share"),
    )


class Opportunity(Base):
    __tablename__ = "opportunity"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(400))
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("org.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    stage: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(4), default="open")  # open | won | lost
    close_date: Mapped[date | None] = mapped_column(Date)
    crm_created_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    roles: Mapped[list[ContactRole]] = relationship(
        back_populates="opportunity", cascade="all, delete-orphan"
    )
    __table_args__ = (CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),)


class ContactRole(Base):
    __tablename__ = "contact_role"
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(String(100))
    is_primary: Mapped[bool] = mapped_column(default=False)
    opportunity: Mapped[Opportunity] = relationship(back_populates="roles")
    __table_args__ = (UniqueConstraint("opportunity_id", "person_id"),)


class Intro(Base):
    __tablename__ = "intro"
    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    broker_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)  # the broker's reason
    status: Mapped[str] = mapped_column(String(10), default="requested")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    made_at: Mapped[datetime | None]
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunity.id", ondelete="SET NULL")
    )
    __table_args__ = (CheckConstraint(f"status IN {INTRO_STATES}", name="status"),)


class ReferralCredit(Base):
    __tablename__ = "referral_credit"
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    referrer_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    intro_id: Mapped[int | None] = mapped_column(ForeignKey("intro.id", ondelete="SET NULL"))
    nomination_id: Mapped[int | None] = mapped_column(  # a campaign guest's, not an intro's
        ForeignKey("nomination.id", ondelete="SET NULL")
    )
    percent: Mapped[float] = mapped_column(Float)
    amount: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint("opportunity_id", "referrer_id"),
        CheckConstraint(f"status IN {CREDIT_STATES}", name="status"),
    )


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SyncState(Base):
    __tablename__ = "sync_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    object: Mapped[str] = mapped_column(String(60))
    cursor: Mapped[str | None] = mapped_column(Text)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_errors: Mapped[list[Any]] = mapped_column(default=list)
    api_usage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (UniqueConstraint("source", "object"),)


class Outbox(Base):
    """Desired CRM state per record and field set; what was last written; how it went."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    object: Mapped[str] = mapped_column(String(60))
    external_id: Mapped[str] = mapped_column(String(200))
    field_set: Mapped[str] = mapped_column(String(60))
    desired: Mapped[dict[str, Any]] = mapped_column(default=dict)
    desired_hash: Mapped[str] = mapped_column(String(64))
    written_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint("source", "object", "external_id", "field_set"),
        Index("ix_outbox_status", "status", "source"),
        CheckConstraint(f"status IN {OUTBOX_STATES}", name="status"),
    )


class Lease(Base):
    """Who runs which job now; a crashed worker's lease expires and is taken over."""

    __tablename__ = "lease"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


__all__ = [
    "AuditEvent",
    "Base",
    "ContactRole",
    "IdentityIssue",
    "Intro",
    "Lease",
    "Member",
    "Opportunity",
    "Org",
    "OrgDomain",
    "Outbox",
    "Person",
    "PersonEmail",
    "ReferralCredit",
    "Relationship",
    "SourceLink",
    "SyncState",
]
