"""Every table of the database, in one place: the store creates them all when it opens
a file, and older files gain what later versions added (MIGRATIONS, in order).

Reports, bucket counts, incidents and snapshots are the engine's; annotations, the
service catalog, the event log, webhooks and their deliveries, and maintenance windows
are the server's. One
writer owns them all (ingest/store.py serialises writes)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    ts TIMESTAMP NOT NULL,
    service VARCHAR NOT NULL,
    region VARCHAR,
    problem VARCHAR,
    reporter VARCHAR,
    weight INTEGER NOT NULL,
    counted BOOLEAN NOT NULL,
    seq BIGINT
);
CREATE TABLE IF NOT EXISTS series_buckets (
    ts TIMESTAMP NOT NULL,
    service VARCHAR NOT NULL,
    region VARCHAR,
    count DOUBLE NOT NULL,
    expected DOUBLE NOT NULL,
    score DOUBLE NOT NULL,
    level VARCHAR
);
CREATE TABLE IF NOT EXISTS problem_buckets (
    ts TIMESTAMP NOT NULL,
    service VARCHAR NOT NULL,
    region VARCHAR,
    problem VARCHAR,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    id VARCHAR PRIMARY KEY,
    service VARCHAR NOT NULL,
    region VARCHAR,
    level VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    body VARCHAR NOT NULL,
    detail VARCHAR  -- the detector's whole incident state, for a lossless restart
);
CREATE TABLE IF NOT EXISTS import_keys (
    key VARCHAR PRIMARY KEY,
    answer VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    name VARCHAR PRIMARY KEY,
    taken_at TIMESTAMP NOT NULL,
    data BLOB NOT NULL
);
-- Incident annotations (app/annotations.py)
CREATE TABLE IF NOT EXISTS annotations (
    id VARCHAR PRIMARY KEY,
    incident_id VARCHAR NOT NULL,
    created_at DOUBLE NOT NULL,
    author VARCHAR,
    text VARCHAR NOT NULL
);
-- The service catalog (app/catalog.py)
CREATE TABLE IF NOT EXISTS catalog (
    service VARCHAR PRIMARY KEY,
    name VARCHAR,
    source VARCHAR NOT NULL,
    added_at DOUBLE NOT NULL,
    providers VARCHAR  -- declared providers, comma-separated (app/catalog.py)
);
-- Incident events, numbered for SSE and webhooks (app/events.py)
CREATE TABLE IF NOT EXISTS events (
    id BIGINT PRIMARY KEY,
    stream_time DOUBLE NOT NULL,
    type VARCHAR NOT NULL,
    incident_id VARCHAR NOT NULL,
    body VARCHAR NOT NULL
);
-- Webhooks and notifications, and their durable outbox (app/webhooks.py)
CREATE TABLE IF NOT EXISTS webhooks (
    id VARCHAR PRIMARY KEY,
    url VARCHAR NOT NULL,
    service VARCHAR,
    region VARCHAR,
    format VARCHAR NOT NULL,
    secret VARCHAR NOT NULL,
    created_at DOUBLE NOT NULL,
    active BOOLEAN NOT NULL,
    min_level VARCHAR  -- only incidents at this level or above (none: every level)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id VARCHAR PRIMARY KEY,
    webhook_id VARCHAR NOT NULL,
    event_id BIGINT NOT NULL,
    event_type VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    next_at DOUBLE NOT NULL,
    status VARCHAR NOT NULL,
    last_error VARCHAR
);
"""

# Tables and columns added after the first release, in order: an older file gains them
# when it is opened (rows from before read NULL in an added column).
MIGRATIONS = (
    "ALTER TABLE incidents ADD COLUMN IF NOT EXISTS detail VARCHAR",
    "ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS min_level VARCHAR",
    # The language people read a subscription's words in (NULL: the server's)
    "ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS lang VARCHAR",
    # Declared providers of a service (app/catalog.py): NULL reads as the bundled list's
    "ALTER TABLE catalog ADD COLUMN IF NOT EXISTS providers VARCHAR",
    # Planned maintenance windows (app/maintenance.py); times in epoch seconds
    """CREATE TABLE IF NOT EXISTS maintenance (
        id VARCHAR PRIMARY KEY,
        service VARCHAR NOT NULL,
        region VARCHAR,
        starts_at DOUBLE NOT NULL,
        ends_at DOUBLE NOT NULL,
        note VARCHAR NOT NULL,
        created_at DOUBLE NOT NULL
    )""",
    # Runs of write-ahead-log sequence numbers lost for good, as an operator
    # acknowledged them (app/log_gaps.py): replay and log cuts go past them
    """CREATE TABLE IF NOT EXISTS seq_gaps (
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        acknowledged_at DOUBLE NOT NULL,
        note VARCHAR NOT NULL
    )""",
)
