"""Invitation campaigns (DESIGN.md "Invitation campaigns"): a campaign an owner runs, and the
nominations reps make from their own network, one relationship at a time.

A nomination points at the nominating rep's relationship (so a merge or a deletion of the person
follows it); what the CRMs hold of it is the outbox's business (connector/writeback/campaigns.py).
They sit on models.Base's metadata like every other table (migrations/env.py imports this module).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.store.models import Base, NullableJSON, utcnow

CAMPAIGN_STATES = ("draft", "open", "closed", "done")
NOMINATION_STATES = ("nominated", "accepted", "declined", "withdrawn")


class Campaign(Base):
    """A special operation: its owner, dates, capacity, target criteria and state."""

    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))  # Salesforce Campaign.Name holds 80
    purpose: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    capacity: Mapped[int]
    owner_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    # {"orgs": [name or domain], "levels": [..], "countries": [..], "min_strength": 1..5}
    criteria: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(8), default="draft")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(f"state IN {CAMPAIGN_STATES}", name="state"),
        CheckConstraint("capacity > 0", name="capacity"),
    )


class Nomination(Base):
    """A rep's opt-in: one of their relationships put forward for one campaign."""

    __tablename__ = "nomination"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    relationship_id: Mapped[int] = mapped_column(
        ForeignKey("relationship.id", ondelete="CASCADE"), index=True
    )
    nominator_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="nominated")
    note: Mapped[str | None] = mapped_column(Text)  # the rep's word to the owner
    reason: Mapped[str | None] = mapped_column(Text)  # the owner's, on a decline
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    # what each CRM says of the guest, as last read back: {"salesforce": "Attended"}
    crm_status: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    __table_args__ = (
        UniqueConstraint("campaign_id", "relationship_id"),
        Index("ix_nomination_campaign_status", "campaign_id", "status"),
        CheckConstraint(f"status IN {NOMINATION_STATES}", name="status"),
    )


__all__ = ["CAMPAIGN_STATES", "NOMINATION_STATES", "Campaign", "Nomination"]
