"""`carnet install [--source S] [--dry-run]`: create the custom fields / properties (and HubSpot's
property group) the outbound mappings write, and give Carnet's user access to them (Salesforce:
the `Carnet_Integration` permission set with read and edit on each field, assigned to that user;
a field that exists but is hidden from that user is granted, never made again). Idempotent: what
exists with the right type and access is left alone, so a second run changes nothing. An
existing field of another type stops the install before anything is made (exit 2).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import update

from connector.core import sources
from connector.core.errors import MappingError, Problem
from connector.core.protocols import Installer
from connector.core.records import FieldSpec, FieldStep
from connector.store.app import App
from connector.store.models import Outbox
from connector.writeback.push import OpenAdapter, writing_sources
from mappings.schema import Mapping, OutField


def field_spec(name: str, spec: OutField) -> FieldSpec:
    return FieldSpec(
        name=name,
        type=spec.type,
        label=spec.label,
        description=spec.description,
        length=spec.length,
        precision=spec.precision,
        scale=spec.scale,
        field_type=spec.field_type,
    )


def run_install(
    app: App,
    source: str | None = None,
    dry_run: bool = False,
    open_adapter: OpenAdapter | None = None,
) -> dict[str, Any]:
    """The plan per source (each field: create / exists), made unless `dry_run`. MappingError
    (exit 2) naming every incompatible field, before anything is created anywhere."""
    if open_adapter is None:
        open_adapter = sources.open_adapter
    mappings = writing_sources(app, source)
    enabled = app.config.sources.enabled()
    adapters = {name: open_adapter(name, enabled[name]) for name in mappings}
    try:
        plans = {name: _plan(adapters[name], m, dry_run=True) for name, m in mappings.items()}
        problems = [
            _problem(name, mappings[name], step)
            for name, steps in plans.items()
            for step in steps
            if step.action == "incompatible"
        ]
        if problems:
            raise MappingError(problems)
        if not dry_run:
            plans = {name: _plan(adapters[name], m, dry_run=False) for name, m in mappings.items()}
    finally:
        for adapter in adapters.values():
            adapter.close()
    if not dry_run:
        _release_parked(app, list(mappings))
    return {
        "dry_run": dry_run,
        "sources": {name: [asdict(step) for step in steps] for name, steps in plans.items()},
    }


def _plan(adapter: Installer, mapping: Mapping, dry_run: bool) -> list[FieldStep]:
    steps: list[FieldStep] = []
    group = mapping.outbound.group
    for obj, fields in mapping.outbound.objects.items():
        specs = [field_spec(name, spec) for name, spec in fields.items()]
        steps += adapter.ensure_fields(obj, specs, group, dry_run)
    return steps


def _problem(source: str, mapping: Mapping, step: FieldStep) -> Problem:
    return Problem(
        file=str(mapping.path),
        key=f"outbound.objects.{step.object}.{step.name}.type",
        message=f"{source} {step.object}.{step.name} {step.detail}: rename the field in the "
        "mapping or change its type there",
        line=mapping.line("outbound", "objects", step.object, step.name),
    )


def _release_parked(app: App, sources: list[str]) -> None:
    """Writes parked because a field was missing may go now: queue every parked write again."""
    with app.sessions() as session:
        session.execute(
            update(Outbox)
            .where(Outbox.source.in_(sources), Outbox.status == "parked")
            .values(status="pending", attempts=0, next_attempt_at=None)
        )
        session.commit()
