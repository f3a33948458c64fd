"""The account plan tables: a plan per org, its stakeholders' stance and influence, its actions.

They sit on models.Base's metadata like every other table (migrations/env.py imports this module).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connector.store.models import Base, utcnow

STANCES = ("champion", "ally", "neutral", "adversary", "unknown")


class AccountPlan(Base):
    __tablename__ = "account_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), unique=True)
    strategy: Mapped[str | None] = mapped_column(Text)
    objectives: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    stakeholders: Mapped[list[Stakeholder]] = relationship(
        back_populates="plan", cascade="all, delete-orphan"
    )
    actions: Mapped[list[PlanAction]] = relationship(
        back_populates="plan", cascade="all, delete-orphan"
    )


class Stakeholder(Base):
    __tablename__ = "stakeholder"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("account_plan.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    stance: Mapped[str] = mapped_column(String(10), default="unknown")
    influence: Mapped[int | None]
    role: Mapped[str | None] = mapped_column(String(100))  # decision role
    plan: Mapped[AccountPlan] = relationship(back_populates="stakeholders")
    __table_args__ = (
        UniqueConstraint("plan_id", "person_id"),
        CheckConstraint(f"stance IN {STANCES}", name="stance"),
        CheckConstraint("influence IS NULL OR (influence BETWEEN 1 AND 5)", name="influence"),
    )


class PlanAction(Base):
    __tablename__ = "plan_action"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("account_plan.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(20), default="cli")  # cli | salesforce | hubspot
    external_id: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    plan: Mapped[AccountPlan] = relationship(back_populates="actions")


__all__ = ["STANCES", "AccountPlan", "PlanAction", "Stakeholder"]
