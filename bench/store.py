"""Reading the catalog and writing runs, samples and generations, through SQLAlchemy Core.

The tables belong to Django's migrations (leaderboard/models/); they are reflected
here, never redefined. Django's model defaults are not database defaults, so every
NOT NULL column is written explicitly. Datetimes are UTC: aware for PostgreSQL,
naive for SQLite (the form Django stores there).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.pools import ARENA, DUPLICATE, SHOWCASE, pixel_sha256
from bench.providers.base import EXTENSIONS, GenerationResult

TABLES = (
    "leaderboard_provider",
    "leaderboard_imagemodel",
    "leaderboard_offering",
    "leaderboard_challenge",
    "leaderboard_challengereference",
    "leaderboard_generation",
    "leaderboard_benchrun",
    "leaderboard_benchsample",
)


class StoreError(RuntimeError):
    """The database cannot be used (missing tables, unknown selection)."""


def make_engine(database_url: str) -> Engine:
    """An engine for a SQLAlchemy URL; SQLite waits up to 30 s for a writer's lock."""
    if database_url.startswith("sqlite"):
        return sa.create_engine(database_url, connect_args={"timeout": 30})
    return sa.create_engine(database_url, pool_pre_ping=True)


@dataclass(frozen=True)
class CatalogOffering:
    """An active offering with its provider and model, as the runner needs it."""

    id: int
    provider_slug: str
    provider_name: str
    provider_base_url: str
    api_key_env: str
    model_slug: str
    model_name: str
    does_text_to_image: bool
    does_edit: bool
    model_max_reference_images: int
    endpoint_kind: str
    provider_model_id: str
    edit_model_id: str
    pricing: dict
    sizes: dict
    max_reference_images: int
    capabilities: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """``provider/model``, the id used on the command line (Offering.key in Django)."""
        return f"{self.provider_slug}/{self.model_slug}"

    @property
    def reference_limit(self) -> int:
        return self.max_reference_images or self.model_max_reference_images


@dataclass(frozen=True)
class ReferenceRow:
    position: int
    image: str
    width: int
    height: int


@dataclass(frozen=True)
class ChallengeRow:
    id: int
    slug: str
    title: str
    prompt: str
    mode: str
    references: tuple[ReferenceRow, ...] = ()


@dataclass
class SampleRecord:
    """One result to store: the sample, and a Generation when an image came back."""

    run_id: int | None
    offering_id: int
    challenge_id: int | None
    mode: str
    result: GenerationResult
    seed: int | None = None
    source: str = "bench"
    started_at: datetime | None = None
    generation_id: int | None = field(default=None, init=False)
    sample_id: int | None = field(default=None, init=False)


class Store:
    """The reflected tables of one database and the queries bench needs."""

    def __init__(self, database_url: str, engine: Engine | None = None, region: str = "") -> None:
        self.engine = engine or make_engine(database_url)
        self.region = region  # where this host measures from; every sample carries it
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        metadata = sa.MetaData()
        try:
            metadata.reflect(self.engine, only=TABLES)
        except sa.exc.InvalidRequestError as error:
            raise StoreError(
                f"the database has no Pairwise tables ({error}); "
                "create them with: python manage.py migrate"
            ) from None
        except sa.exc.OperationalError as error:
            raise StoreError(f"cannot open the database: {error.orig}") from None
        tables = metadata.tables
        self.provider = tables["leaderboard_provider"]
        self.model = tables["leaderboard_imagemodel"]
        self.offering = tables["leaderboard_offering"]
        self.challenge = tables["leaderboard_challenge"]
        self.reference = tables["leaderboard_challengereference"]
        self.generation = tables["leaderboard_generation"]
        self.run = tables["leaderboard_benchrun"]
        self.sample = tables["leaderboard_benchsample"]

    def close(self) -> None:
        self.engine.dispose()

    def timestamp(self, moment: datetime) -> datetime:
        """A UTC datetime in the form the database stores (naive UTC on SQLite)."""
        moment = moment.astimezone(UTC)
        return moment.replace(tzinfo=None) if self.is_sqlite else moment

    # catalog

    def load_offerings(self, selectors: Sequence[str] | None = None) -> list[CatalogOffering]:
        """Active offerings of active providers and models, optionally selected.

        A selector is an offering key (``provider/model``), a provider slug or a model
        slug; one that matches nothing raises StoreError.
        """
        o, p, m = self.offering, self.provider, self.model
        query = (
            sa.select(
                o.c.id,
                p.c.slug.label("provider_slug"),
                p.c.name.label("provider_name"),
                p.c.base_url,
                p.c.api_key_env,
                m.c.slug.label("model_slug"),
                m.c.name.label("model_name"),
                m.c.does_text_to_image,
                m.c.does_edit,
                m.c.max_reference_images.label("model_max_refs"),
                o.c.endpoint_kind,
                o.c.provider_model_id,
                o.c.edit_model_id,
                o.c.pricing,
                o.c.sizes,
                o.c.max_reference_images,
                o.c.capabilities,
            )
            .join(p, p.c.id == o.c.provider_id)
            .join(m, m.c.id == o.c.image_model_id)
            .where(o.c.is_active, p.c.is_active, m.c.is_active)
            .order_by(p.c.slug, m.c.slug)
        )
        with self.engine.connect() as connection:
            rows = [
                CatalogOffering(
                    id=row.id,
                    provider_slug=row.provider_slug,
                    provider_name=row.provider_name,
                    provider_base_url=row.base_url,
                    api_key_env=row.api_key_env or "",
                    model_slug=row.model_slug,
                    model_name=row.model_name,
                    does_text_to_image=bool(row.does_text_to_image),
                    does_edit=bool(row.does_edit),
                    model_max_reference_images=row.model_max_refs or 0,
                    endpoint_kind=row.endpoint_kind,
                    provider_model_id=row.provider_model_id,
                    edit_model_id=row.edit_model_id or "",
                    pricing=_json(row.pricing),
                    sizes=_json(row.sizes) or {},
                    max_reference_images=row.max_reference_images or 0,
                    capabilities=_json(row.capabilities) or {},
                )
                for row in connection.execute(query)
            ]
        if not selectors:
            return rows
        chosen, missing = [], []
        for selector in selectors:
            matches = [
                row for row in rows if selector in (row.key, row.provider_slug, row.model_slug)
            ]
            if not matches:
                missing.append(selector)
            chosen += [row for row in matches if row not in chosen]
        if missing:
            known = ", ".join(row.key for row in rows) or "none"
            raise StoreError(
                f"no active offering matches {', '.join(missing)} (active offerings: {known})"
            )
        return chosen

    def load_challenges(self, slugs: Sequence[str] | None = None) -> list[ChallengeRow]:
        """Active challenges with their reference images in order, optionally by slug."""
        c, r = self.challenge, self.reference
        query = sa.select(c.c.id, c.c.slug, c.c.title, c.c.prompt, c.c.mode).where(c.c.is_active)
        if slugs:
            query = query.where(c.c.slug.in_(list(slugs)))
        with self.engine.connect() as connection:
            challenges = list(connection.execute(query.order_by(c.c.slug)))
            references: dict[int, list[ReferenceRow]] = {}
            if challenges:
                ref_query = (
                    sa.select(r.c.challenge_id, r.c.position, r.c.image, r.c.width, r.c.height)
                    .where(r.c.challenge_id.in_([row.id for row in challenges]))
                    .order_by(r.c.challenge_id, r.c.position)
                )
                for row in connection.execute(ref_query):
                    references.setdefault(row.challenge_id, []).append(
                        ReferenceRow(row.position, row.image, row.width, row.height)
                    )
        if slugs:
            missing = sorted(set(slugs) - {row.slug for row in challenges})
            if missing:
                raise StoreError(f"no active challenge has the slug {', '.join(missing)}")
        return [
            ChallengeRow(
                row.id, row.slug, row.title, row.prompt, row.mode, tuple(references.get(row.id, ()))
            )
            for row in challenges
        ]

    # runs

    def start_run(
        self,
        *,
        suite: str,
        concurrency: int,
        max_cost_usd: Decimal | None,
        host: str,
        pid: int,
        started_at: datetime,
        shard: str = "",
    ) -> int:
        """Insert a BenchRun in status ``running``; returns its id."""
        values = dict(
            shard=shard[:20],
            region=self.region[:40],
            suite=suite[:80],
            status="running",
            started_at=self.timestamp(started_at),
            finished_at=None,
            host=host[:120],
            pid=pid,
            concurrency=concurrency,
            max_cost_usd=max_cost_usd,
            spent_usd=Decimal(0),
            note="",
        )
        with self.engine.begin() as connection:
            return connection.execute(
                sa.insert(self.run).values(**values).returning(self.run.c.id)
            ).scalar_one()

    def finish_run(self, run_id: int, *, status: str, note: str, finished_at: datetime) -> None:
        """Close a BenchRun: final status and a note (``spent_usd`` grows with each sample)."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(self.run)
                .where(self.run.c.id == run_id)
                .values(status=status, note=note, finished_at=self.timestamp(finished_at))
            )

    def run_status(self, run_id: int) -> tuple[str, Decimal]:
        """(status, spent_usd) of a BenchRun."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(self.run.c.status, self.run.c.spent_usd).where(self.run.c.id == run_id)
            ).one()
        return row.status, Decimal(row.spent_usd)

    def mark_abandoned_runs(self, *, current_run_id: int | None, now: datetime) -> list[int]:
        """Mark ``running`` BenchRuns other than the current one as interrupted.

        Only call this while holding the run lock: then no other runner is alive, and a
        row still ``running`` belongs to one that died (SIGKILL, power loss).
        """
        query = sa.select(self.run.c.id, self.run.c.pid, self.run.c.host).where(
            self.run.c.status == "running"
        )
        if current_run_id is not None:
            query = query.where(self.run.c.id != current_run_id)
        with self.engine.begin() as connection:
            stale = list(connection.execute(query))
            for row in stale:
                connection.execute(
                    sa.update(self.run)
                    .where(self.run.c.id == row.id)
                    .values(
                        status="interrupted",
                        finished_at=self.timestamp(now),
                        note=f"runner died (pid {row.pid} on {row.host or '?'}); "
                        "its finished samples are kept",
                    )
                )
        return [row.id for row in stale]

    # results

    def write_results(self, records: Iterable[SampleRecord], media_root: Path) -> None:
        """Store samples (and the Generation and image file of each success) in one commit.

        Image files are content-addressed, ``generations/<sha[:2]>/<sha>.<ext>`` under
        ``media_root``, written before the rows so a committed row never names a
        missing file. A picture whose decoded pixels match a stored generation is not
        stored again: the sample points at that generation (identical pixels are one
        picture). A new generation is the showcase image of its offering x challenge
        when that has none yet, an arena candidate otherwise (see bench/pools.py).
        Each run's ``spent_usd`` grows by its samples' costs in the same
        transaction, so however a run dies, what it spent is the sum of what it stored.
        """
        records = list(records)
        successes = [
            (record, pixel_sha256(record.result.image))
            for record in records
            if record.result.is_ok and record.result.image is not None
        ]
        with self.engine.begin() as connection:
            known = self._known_pictures(connection, {pixel for _, pixel in successes if pixel})
            showcased = self._showcased(connection, {record.offering_id for record, _ in successes})
            new, repeats, pending = [], [], set()
            for record, pixel in successes:
                if pixel and pixel in known:
                    record.generation_id = known[pixel]
                    continue
                if pixel and pixel in pending:  # the same picture twice in this batch
                    repeats.append((record, pixel))
                    continue
                pending.add(pixel)
                key = (record.offering_id, record.challenge_id)
                pool = ARENA if key in showcased else SHOWCASE
                showcased.add(key)
                new.append((record, pixel, pool))
            if new:
                inserted = connection.execute(
                    sa.insert(self.generation).returning(
                        self.generation.c.id, sort_by_parameter_order=True
                    ),
                    [
                        self._generation_values(record, pixel, pool, media_root)
                        for record, pixel, pool in new
                    ],
                ).all()
                for (record, pixel, _), row in zip(new, inserted, strict=True):
                    record.generation_id = row.id
                    if pixel:
                        known[pixel] = row.id
            for record, pixel in repeats:
                record.generation_id = known[pixel]
            connection.execute(
                sa.insert(self.sample), [self._sample_values(record) for record in records]
            )
            spent: dict[int, Decimal] = {}
            for record in records:
                if record.run_id is not None and record.result.cost_usd:
                    spent[record.run_id] = spent.get(record.run_id, 0) + record.result.cost_usd
            for run_id, cost_usd in spent.items():
                connection.execute(
                    sa.update(self.run)
                    .where(self.run.c.id == run_id)
                    .values(spent_usd=self.run.c.spent_usd + cost_usd)
                )

    def _known_pictures(self, connection, pixels: set[str]) -> dict[str, int]:
        """Stored generations (not duplicates) with these pixel digests: digest -> id."""
        if not pixels:
            return {}
        g = self.generation
        query = sa.select(g.c.pixel_sha256, g.c.id).where(
            g.c.pixel_sha256.in_(sorted(pixels)), g.c.pool != DUPLICATE
        )
        return {row.pixel_sha256: row.id for row in connection.execute(query)}

    def _showcased(self, connection, offering_ids: set[int]) -> set[tuple[int, int]]:
        """(offering id, challenge id) pairs of these offerings that have a showcase image."""
        if not offering_ids:
            return set()
        g = self.generation
        query = sa.select(g.c.offering_id, g.c.challenge_id).where(
            g.c.offering_id.in_(sorted(offering_ids)), g.c.pool == SHOWCASE
        )
        return {(row.offering_id, row.challenge_id) for row in connection.execute(query)}

    def _generation_values(
        self, record: SampleRecord, pixel: str, pool: str, media_root: Path
    ) -> dict:
        result = record.result
        relative_path, sha256 = save_image(result.image, result.content_type, media_root)
        return dict(
            offering_id=record.offering_id,
            challenge_id=record.challenge_id,
            image=relative_path,
            width=result.width,
            height=result.height,
            bytes=len(result.image),
            sha256=sha256,
            content_type=result.content_type or "application/octet-stream",
            seed=record.seed,
            created_at=self.timestamp(result.started_at or record.started_at or datetime.now(UTC)),
            pixel_sha256=pixel,
            pool=pool,
            impressions=0,
            retired_at=None,
        )

    def _sample_values(self, record: SampleRecord) -> dict:
        row = sample_row(
            record.result,
            offering_id=record.offering_id,
            source=record.source,
            mode=record.mode,
            started_at=record.started_at,
            run_id=record.run_id,
            challenge_id=record.challenge_id,
            generation_id=record.generation_id,
            region=self.region,
        )
        return {
            column: self.timestamp(value) if isinstance(value, datetime) else value
            for column, value in row.items()
        }


def sample_row(
    result: GenerationResult,
    *,
    offering_id: int,
    source: str,
    mode: str,
    started_at: datetime | None = None,
    run_id: int | None = None,
    challenge_id: int | None = None,
    generation_id: int | None = None,
    region: str = "",
) -> dict:
    """The one mapping of a measurement to its stored BenchSample row: column -> value.

    The runner (``Store.write_results``, through SQLAlchemy) and the API gateway
    (``BenchSample(**sample_row(...))``, through the ORM) both store their samples
    with it, so a column the adapters measure reaches the table from either path.
    ``started_at`` stands in when the result carries no start time (a request that
    never started); datetimes are timezone-aware UTC, stored as each database wants.
    """
    return dict(
        run_id=run_id,
        offering_id=offering_id,
        challenge_id=challenge_id,
        source=source,
        mode=mode,
        started_at=result.started_at or started_at or datetime.now(UTC),
        status=result.status,
        http_status=result.http_status,
        submit_ttfb_ms=result.submit_ttfb_ms,
        ttfb_ms=result.ttfb_ms,
        generation_ms=result.generation_ms,
        queue_ms=result.queue_ms,
        processing_ms=result.processing_ms,
        last_pending_ms=result.last_pending_ms,
        first_ready_ms=result.first_ready_ms,
        provider_created_at=result.provider_created_at,
        provider_started_at=result.provider_started_at,
        provider_completed_at=result.provider_completed_at,
        requested_width=result.requested_width,
        requested_height=result.requested_height,
        width=result.width,
        height=result.height,
        bytes=result.bytes,
        cost_usd=result.cost_usd,
        provider_request_id=result.provider_request_id[:200],
        error=result.error,
        generation_id=generation_id,
        region=region[:40],
    )


def save_image(data: bytes, content_type: str, media_root: Path) -> tuple[str, str]:
    """Write ``data`` content-addressed under ``media_root``; (relative path, sha256 hex).

    An existing file with the same hash is kept as it is; a new one is written to a
    temporary name and renamed, so a reader never sees half an image.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    relative = f"generations/{sha256[:2]}/{sha256}.{EXTENSIONS.get(content_type, 'bin')}"
    target = Path(media_root) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return relative, sha256


def _json(value):
    if isinstance(value, str):
        return json.loads(value)
    return value
