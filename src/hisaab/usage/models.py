"""Meters, and the usage events they count.

Events are written in bulk and read only by aggregation, so they are plain Core tables reached
through set-based SQL (usage/repository.py), never ORM objects:

- `usage_events` is RANGE-partitioned by `occurred_at`, one partition per UTC month, kept in the
  `usage_partitions` schema (so the application role, which has no rights there, can only reach
  them through the parent and its row-level security). A DEFAULT partition takes events of months
  that have no partition yet (a test clock far in the past or future); the maintenance job
  (`usage_maintain_partitions`, migration 0013) gives such months their own partition and moves the
  rows over.
- Deduplication is by (tenant, event id) alone, whatever the timestamp, and a unique index on a
  partitioned table must contain the partition key; so the ids live in their own unpartitioned
  table `usage_event_ids` whose primary key is the dedupe rule: `INSERT … ON CONFLICT DO NOTHING`
  there decides, also between concurrent requests, which copy of an event is stored.
- `usage_events` has no primary key: `seq` (the received order, which breaks ties of `latest`)
  is unique already, and every index is paid for on each of millions of inserts. The one index
  serves aggregation: (tenant, customer, meter, time, seq), with the aggregated values included
  so that count/sum/max/latest never read the heap.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, TenantId, Timestamp
from hisaab.db import Base

AGGREGATIONS = ("count", "sum", "max", "unique_count", "latest")


class Meter(Base):
    __tablename__ = "meters"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint(
            "aggregation IN ('count', 'sum', 'max', 'unique_count', 'latest')", name="aggregation"
        ),
        # What is aggregated comes from the event's properties, except for a plain count.
        CheckConstraint("(aggregation = 'count') = (field IS NULL)", name="field"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    aggregation: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp]


# Keys compare bytewise (COLLATE "C"): ids are ASCII, and on millions of index insertions a
# byte comparison is much cheaper than the database's linguistic collation.
Key = Text(collation="C")

usage_events = Table(
    "usage_events",
    Base.metadata,
    Column("tenant_id", Key, nullable=False),
    Column("customer_id", Key, nullable=False),
    Column("meter_id", Key, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    # Received order: a sequence, so the later of two events with the same timestamp is known.
    Column("seq", BigInteger, nullable=False, server_default=text("nextval('usage_events_seq')")),
    Column("id", Key, nullable=False),
    # The meter's field as a number (sum, max, latest) or as JSON text (unique_count).
    Column("value", Numeric, nullable=True),
    Column("unique_value", Text, nullable=True),
    Column("properties", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index(
        "ix_usage_events_aggregation",
        "tenant_id",
        "customer_id",
        "meter_id",
        "occurred_at",
        "seq",
        postgresql_include=["value", "unique_value"],
    ),
    postgresql_partition_by="RANGE (occurred_at)",
)

usage_event_ids = Table(
    "usage_event_ids",
    Base.metadata,
    Column("tenant_id", Key, primary_key=True),
    Column("id", Key, primary_key=True),
    # Which partition the event went to, for a retention job that drops old months.
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)
