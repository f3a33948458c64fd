"""The members of a Salesforce campaign (`CampaignMember`): read back with the status each holds,
and added, updated and removed through sObject Collections, 200 a call, one WriteResult per
write with the Outcome push.py gives a field write.

Exactly once: adding a contact that is a member already (Salesforce: DUPLICATE_VALUE "Already a
campaign member.", as after a push that died once the member was made) finds that member and
makes it hold the status asked for; removing a member that is gone already is done too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.format import format_soql

from adapters.salesforce.auth import TIMEOUT_S
from adapters.salesforce.client import Client
from adapters.salesforce.push import CAP, GONE_CODES, error_code, failed, push, result
from connector.core.errors import CarnetError, RecordError, RetriableError, UsageError
from connector.core.records import Outcome, Write, WriteResult
from connector.core.records_campaigns import MemberState, MemberWrite

IDS_PER_QUERY = 200  # ids in one `IN (...)`: keeps the query URL short
Pair = tuple[str, str]  # (campaign id, contact id)
Found = dict[Pair, MemberState]


def query(client: Client, soql: str | Callable[[Client], str], obj: str) -> list[dict[str, Any]]:
    """Every row of a query (pages followed), in one retried call; a callable `soql` is asked
    for the query once logged in (for what the login tells, such as Carnet's user)."""

    client.check_budget()

    def fn(sf: Salesforce) -> list[dict[str, Any]]:
        text = soql if isinstance(soql, str) else soql(client)
        return list(sf.query_all_iter(text, timeout=TIMEOUT_S))

    return client.call(fn, f"Salesforce {obj} query")


def read_members(client: Client, campaign_ref: str) -> dict[str, MemberState]:
    """Contact id -> its membership of the campaign (leads left out); one query, and a second
    when there is no member, to tell an empty campaign from one deleted in Salesforce (a
    RecordError naming it: the write-back then finds or makes the campaign again)."""
    soql = format_soql(
        "SELECT Id, ContactId, Status FROM CampaignMember WHERE CampaignId = {}"
        " ORDER BY CreatedDate, Id",
        campaign_ref,
    )
    found: dict[str, MemberState] = {}
    for row in query(client, soql, "CampaignMember"):
        if row.get("ContactId"):
            state = MemberState(str(row["Id"]), _text(row.get("Status")))
            found.setdefault(str(row["ContactId"]), state)
    if not found:
        alive = format_soql("SELECT Id FROM Campaign WHERE Id = {}", campaign_ref)
        if not list(query(client, alive, "Campaign")):
            raise RecordError(
                f"Campaign {campaign_ref} no longer exists in Salesforce", campaign_ref
            )
    return found


def push_members(client: Client, writes: list[MemberWrite]) -> list[WriteResult]:
    """Every add, status change and removal; results in the order of `writes`."""
    results: dict[int, WriteResult] = {}
    removals = [(i, w) for i, w in enumerate(writes) if w.remove]
    results |= _remove(client, removals)
    others = [(i, w) for i, w in enumerate(writes) if not w.remove]
    results |= _write(client, others)
    return [results[i] for i in range(len(writes))]


# -- adds and status changes ----------------------------------------------------------------------
def _write(client: Client, indexed: list[tuple[int, MemberWrite]]) -> dict[int, WriteResult]:
    results: dict[int, WriteResult] = {}
    sent: list[tuple[int, MemberWrite]] = []
    for i, w in indexed:
        if w.ref is not None and w.status is None:  # nothing a member without status could set
            results[i] = WriteResult(w.key, Outcome.OK, id=w.ref)
        else:
            sent.append((i, w))
    there: set[int] = set()  # the adds Salesforce found members already

    def judge(write: Write, answer: dict[str, Any]) -> WriteResult:
        if write.id is None and error_code(answer) == "DUPLICATE_VALUE":
            there.add(int(write.key))
        return result(write, answer)

    answers = push(client, [_member_write(i, w) for i, w in sent], judge)
    for (i, w), answer in zip(sent, answers, strict=True):
        results[i] = WriteResult(w.key, answer.outcome, answer.id, answer.error)
    results |= _adopt(client, [(i, w) for i, w in sent if i in there])
    return results


def _member_write(index: int, w: MemberWrite) -> Write:
    """The Write of one member, keyed by its index (the caller's key is put back after)."""
    if w.ref is not None:
        return Write("CampaignMember", w.ref, {"Status": w.status}, key=str(index))
    values = {"CampaignId": w.campaign_ref, "ContactId": w.contact}
    if w.status is not None:  # else the campaign's default status
        values["Status"] = w.status
    return Write("CampaignMember", None, values, key=str(index))


def _adopt(client: Client, dupes: list[tuple[int, MemberWrite]]) -> dict[int, WriteResult]:
    """Adds that found the contact a member already: that member, holding the status asked."""
    if not dupes:
        return {}
    try:
        found = _find(client, [(w.campaign_ref, w.contact) for _, w in dupes])
    except UsageError:
        raise
    except CarnetError as exc:
        return {i: _failed(w, exc) for i, w in dupes}
    results: dict[int, WriteResult] = {}
    updates: list[tuple[int, MemberWrite]] = []
    for i, w in dupes:
        member = found.get((w.campaign_ref, w.contact))
        if member is None:  # removed meanwhile: the next push adds it again
            gone = "a member already, then not found"
            results[i] = WriteResult(w.key, Outcome.RETRY, error=gone)
        elif w.status is None or member.status == w.status:
            results[i] = WriteResult(w.key, Outcome.OK, id=member.ref)
        else:
            updates.append((i, MemberWrite(w.key, w.campaign_ref, w.contact, member.ref, w.status)))
    return results | _write(client, updates)


def _find(client: Client, pairs: list[Pair]) -> Found:
    """The members (id, status) of these (campaign, contact) pairs, as Salesforce holds them."""
    campaigns = sorted({c for c, _ in pairs})
    contacts = sorted({p for _, p in pairs})
    wanted = set(pairs)
    found: Found = {}
    for c_start in range(0, len(campaigns), IDS_PER_QUERY):
        for p_start in range(0, len(contacts), IDS_PER_QUERY):
            soql = format_soql(
                "SELECT Id, CampaignId, ContactId, Status FROM CampaignMember"
                " WHERE CampaignId IN {} AND ContactId IN {} ORDER BY CreatedDate, Id",
                campaigns[c_start : c_start + IDS_PER_QUERY],
                contacts[p_start : p_start + IDS_PER_QUERY],
            )
            for row in query(client, soql, "CampaignMember"):
                pair = (str(row["CampaignId"]), str(row["ContactId"]))
                if pair in wanted:
                    found.setdefault(pair, MemberState(str(row["Id"]), _text(row.get("Status"))))
    return found


# -- removals --------------------------------------------------------------------------------------
def _remove(client: Client, indexed: list[tuple[int, MemberWrite]]) -> dict[int, WriteResult]:
    """Delete the members; one without a ref is looked up first (none found: nothing to do)."""
    results: dict[int, WriteResult] = {}
    unknown = [(i, w) for i, w in indexed if w.ref is None]
    found: Found = {}
    try:
        found = _find(client, [(w.campaign_ref, w.contact) for _, w in unknown]) if unknown else {}
    except UsageError:
        raise
    except CarnetError as exc:
        results |= {i: _failed(w, exc) for i, w in unknown}
        indexed = [(i, w) for i, w in indexed if w.ref is not None]
    targets: list[tuple[int, MemberWrite, str]] = []
    for i, w in indexed:
        member = found.get((w.campaign_ref, w.contact))
        ref = w.ref or (member.ref if member else None)
        if ref is None:
            results[i] = WriteResult(w.key, Outcome.OK)
        else:
            targets.append((i, w, ref))
    for start in range(0, len(targets), CAP):
        results |= _delete(client, targets[start : start + CAP])
    return results


def _delete(client: Client, batch: list[tuple[int, MemberWrite, str]]) -> dict[int, WriteResult]:
    """One sObject Collections delete; a member already gone counts as removed."""
    params = {"ids": ",".join(ref for _, _, ref in batch), "allOrNone": "false"}

    def fn(sf: Salesforce) -> Any:
        return sf.restful("composite/sobjects", method="DELETE", params=params, timeout=TIMEOUT_S)

    try:
        client.check_budget()
        answers = client.call(fn, "Salesforce composite/sobjects DELETE")
        if not isinstance(answers, list) or len(answers) != len(batch):
            raise RetriableError("Salesforce composite/sobjects DELETE: unexpected answer")
    except UsageError:
        raise
    except CarnetError as exc:
        return {i: _failed(w, exc, ref) for i, w, ref in batch}
    results = {}
    for (i, w, ref), answer in zip(batch, answers, strict=True):
        if answer.get("success") or error_code(answer) in GONE_CODES:
            results[i] = WriteResult(w.key, Outcome.OK, id=ref)
        else:
            results[i] = result(Write("CampaignMember", ref, {}, key=w.key), answer)
    return results


def _failed(w: MemberWrite, exc: CarnetError, member: str | None = None) -> WriteResult:
    return failed(Write("CampaignMember", member or w.ref, {}, key=w.key), exc)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
