"""The computed score from signals, its recency decay and weights, and the effective strength."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.core.config import Scoring
from connector.governance.scoring import (
    Activity,
    DealRole,
    Signals,
    compute_score,
    round_half_up,
    strength,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
W = Scoring()  # address_book 1.5, contact_owner 1.5, activity 0.4 (cap 2.0), deal_role 1.0, 90 d


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_no_signal_at_all_gives_no_score() -> None:
    assert compute_score(Signals(), W, NOW) is None
    assert compute_score(Signals.from_json({}), W, NOW) is None
    assert compute_score(Signals.from_json(None), W, NOW) is None


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (Signals(address_book=True), 2.5),
        (Signals(contact_owner=True), 2.5),
        (Signals(address_book=True, contact_owner=True), 4.0),
        (Signals(activities=(Activity(NOW, "call"),)), 1.4),
        (Signals(activities=(Activity(ago(90), "email"),)), 1.2),  # one half-life: half weight
        (Signals(activities=(Activity(ago(180), "email"),)), 1.1),  # two: a quarter
        (Signals(activities=tuple(Activity(NOW, "meeting") for _ in range(20))), 3.0),  # cap 2.0
        (Signals(deal_roles=(DealRole("o1", "Decision Maker", "open"),)), 2.0),
        (Signals(deal_roles=(DealRole("o1", "Champion", "lost"),)), 1.5),
        # one deal counts once, however many roles the person holds on it
        (Signals(deal_roles=(DealRole("o1", "A", "won"), DealRole("o1", "B", "won"))), 2.0),
        # at most two deals' worth
        (Signals(deal_roles=tuple(DealRole(f"o{i}", None, "won") for i in range(5))), 3.0),
        (
            Signals(
                address_book=True,
                contact_owner=True,
                activities=(Activity(NOW, "call"),) * 5,
                deal_roles=(DealRole("o1", None, "open"),),
            ),
            5.0,  # 1 + 1.5 + 1.5 + 2.0 + 1.0 = 7, capped at 5
        ),
    ],
)
def test_formula(signals: Signals, expected: float) -> None:
    assert compute_score(signals, W, NOW) == pytest.approx(expected, abs=1e-3)


def test_an_activity_in_the_future_counts_as_today() -> None:
    future = Signals(activities=(Activity(NOW + timedelta(days=30), "meeting"),))
    assert compute_score(future, W, NOW) == pytest.approx(1.4)


def test_the_weights_come_from_the_config() -> None:
    s = Signals(address_book=True, activities=(Activity(ago(30), "call"),))
    heavy = Scoring(address_book=3.0, activity=1.0, half_life_days=30)
    assert compute_score(s, heavy, NOW) == pytest.approx(1 + 3.0 + 0.5)
    nothing = Scoring(address_book=0, contact_owner=0, activity=0, deal_role=0)
    assert compute_score(s, nothing, NOW) == 1.0


def test_signals_read_tolerantly_and_round_trip() -> None:
    raw = {
        "address_book": True,
        "contact_owner": "yes",  # not a bool: not a signal
        "activities": [
            {"at": "2026-10-01T10:00:00Z", "kind": "call"},
            {"at": "2026-10-02T10:00:00", "kind": "meeting"},  # naive: read as UTC
            {"at": "not a date", "kind": "call"},
            {"at": "2026-10-03T10:00:00+00:00", "kind": "fax"},
            "junk",
        ],
        "deal_roles": [{"opportunity_id": 7, "role": "Champion", "status": "won"}, {"role": "x"}],
        "unknown_key": 1,
    }
    s = Signals.from_json(raw)
    assert s.address_book and not s.contact_owner
    assert [a.kind for a in s.activities] == ["call", "meeting"]
    assert all(a.at.tzinfo is not None for a in s.activities)
    assert s.deal_roles == (DealRole("7", "Champion", "won"),)
    assert s.last_activity_at() == datetime(2026, 10, 2, 10, tzinfo=UTC)
    assert Signals.from_json(s.to_json()) == s


def test_round_half_up_not_bankers() -> None:
    assert [round_half_up(x) for x in (1.0, 1.49, 1.5, 2.5, 3.5, 4.999)] == [1, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("rating", "score", "effective", "shown_score", "disagreement"),
    [
        (None, None, None, None, False),
        (None, 2.5, 3, 3, False),
        (4, None, 4, None, False),
        (4, 3.4, 4, 3, False),
        (5, 3.4, 5, 3, True),  # 5 vs 3: both shown
        (1, 2.6, 1, 3, True),
        (1, 2.4, 1, 2, False),
    ],
)
def test_strength(
    rating: int | None,
    score: float | None,
    effective: int | None,
    shown_score: int | None,
    disagreement: bool,
) -> None:
    s = strength(rating, score)
    assert (s.effective, s.rating, s.score, s.disagreement) == (
        effective,
        rating,
        shown_score,
        disagreement,
    )
