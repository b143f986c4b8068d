"""Versioned schema migrations (sqlite-utils' `Migrations`).

Migrations are named `0001_…`, `0002_…`; never renamed, never edited once landed. Each is tested by
upgrading a database of the previous version (tests/test_migrations.py).

Invariants live in the schema too: NOT NULL, CHECK and UNIQUE constraints, and triggers that make the
event log and the audit log append-only.
"""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("edgenode")

def _append_only(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for verb in ("update", "delete")
    ]


def _run(db: sqlite_utils.Database, statements: list[str]) -> None:
    # One statement at a time: executescript() would COMMIT the migration's transaction first.
    for statement in statements:
        db.conn.execute(statement)


@migrations(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    tables = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL CHECK (value > 0));

        CREATE TABLE catalog_releases (
            version INTEGER PRIMARY KEY CHECK (version > 0),
            publisher TEXT NOT NULL,
            published_at TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            item_count INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            signed INTEGER NOT NULL CHECK (signed IN (0, 1)),
            document TEXT NOT NULL
        );
        CREATE TABLE items (
            release INTEGER NOT NULL REFERENCES catalog_releases(version),
            code TEXT NOT NULL,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            delegation TEXT NOT NULL,
            offered INTEGER NOT NULL CHECK (offered IN (0, 1)),
            PRIMARY KEY (release, code)
        ) WITHOUT ROWID;
        CREATE TABLE item_documents (
            release INTEGER NOT NULL,
            code TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (release, code),
            FOREIGN KEY (release, code) REFERENCES items(release, code)
        );

        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            type TEXT NOT NULL,
            hlc TEXT NOT NULL,
            author_node TEXT NOT NULL,
            author_staff TEXT NOT NULL,
            causal_base TEXT NOT NULL,
            payload TEXT NOT NULL,
            version INTEGER NOT NULL,
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX events_by_case ON events(case_id, hlc);

        CREATE TABLE cases (
            id TEXT PRIMARY KEY,
            case_no TEXT NOT NULL UNIQUE,
            item_code TEXT NOT NULL,
            item_version INTEGER NOT NULL,
            item_name TEXT NOT NULL,
            applicant_name TEXT NOT NULL,
            status TEXT NOT NULL,
            received_at TEXT NOT NULL,
            notice_due TEXT,
            deadline TEXT,
            updated_hlc TEXT NOT NULL
        );
        CREATE INDEX cases_by_status ON cases(status, received_at);

        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
            size INTEGER NOT NULL CHECK (size >= 0),
            media_type TEXT NOT NULL,
            stored_at TEXT NOT NULL
        );

        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            node TEXT NOT NULL,
            staff TEXT NOT NULL,
            action TEXT NOT NULL,
            case_id TEXT,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        );

        CREATE TABLE calendars (
            version INTEGER PRIMARY KEY CHECK (version > 0),
            imported_at TEXT NOT NULL,
            document TEXT NOT NULL
        );
    """
    statements = [part.strip() for part in tables.split(";") if part.strip()]
    _run(db, statements + _append_only("events") + _append_only("audit"))


def migrate(db: sqlite_utils.Database) -> None:
    migrations.apply(db)


def _strictly_increasing(table: str, column: str) -> str:
    return (f"CREATE TRIGGER {table}_{column}_increases BEFORE INSERT ON {table} "
            f"WHEN NEW.{column} <= (SELECT COALESCE(MAX({column}), 0) FROM {table}) "
            f"BEGIN SELECT RAISE(ABORT, '{table}.{column} must increase'); END")


@migrations(name="0002_seals")
def _seals(db: sqlite_utils.Database) -> None:
    """E-seals (docs/adr/0007): the county CA's register, the trust store, the node's seals, the issuance log."""
    tables = """
        CREATE TABLE ca_certificates (
            serial TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('node', 'seal')),
            node_id TEXT NOT NULL,
            seal_id TEXT,
            subject TEXT NOT NULL,
            not_before TEXT NOT NULL,
            not_after TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            enrolment_id TEXT NOT NULL,
            pem TEXT NOT NULL
        );
        CREATE INDEX ca_certificates_by_node ON ca_certificates(node_id);
        CREATE TABLE ca_revocations (
            serial TEXT PRIMARY KEY REFERENCES ca_certificates(serial),
            revoked_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            staff TEXT NOT NULL
        );
        CREATE TABLE ca_crls (
            number INTEGER PRIMARY KEY CHECK (number > 0),
            issued_at TEXT NOT NULL,
            next_update TEXT NOT NULL,
            pem TEXT NOT NULL
        );
        CREATE TABLE ca_enrolments (
            enrolment_id TEXT PRIMARY KEY,
            node_id TEXT NOT NULL,
            node_fingerprint TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE TABLE ca_attestations (
            attestation_id TEXT PRIMARY KEY,
            node_id TEXT NOT NULL,
            first_seq INTEGER NOT NULL CHECK (first_seq > 0),
            last_seq INTEGER NOT NULL CHECK (last_seq >= first_seq),
            merkle_root TEXT NOT NULL CHECK (length(merkle_root) = 64),
            county_time TEXT NOT NULL,
            document TEXT NOT NULL
        );
        CREATE TABLE ca_attested_documents (
            node_id TEXT NOT NULL,
            seq INTEGER NOT NULL CHECK (seq > 0),
            entry_hash TEXT NOT NULL CHECK (length(entry_hash) = 64),
            document_sha256 TEXT NOT NULL CHECK (length(document_sha256) = 64),
            kind TEXT NOT NULL,
            seal_id TEXT NOT NULL,
            case_id TEXT,
            doc_no TEXT,
            issued_at TEXT NOT NULL,
            county_time TEXT NOT NULL,
            attestation_id TEXT NOT NULL REFERENCES ca_attestations(attestation_id),
            PRIMARY KEY (node_id, seq)
        );
        CREATE INDEX ca_attested_by_document ON ca_attested_documents(document_sha256);

        CREATE TABLE trust_anchors (
            fingerprint TEXT PRIMARY KEY CHECK (length(fingerprint) = 64),
            county TEXT NOT NULL,
            pem TEXT NOT NULL,
            added_at TEXT NOT NULL,
            source TEXT NOT NULL
        );
        CREATE TABLE enrolments (
            enrolment_id TEXT PRIMARY KEY,
            ca_fingerprint TEXT NOT NULL REFERENCES trust_anchors(fingerprint),
            accepted_at TEXT NOT NULL,
            staff TEXT NOT NULL
        );
        CREATE TABLE node_seals (
            seal_id TEXT PRIMARY KEY,
            level TEXT NOT NULL,
            body TEXT NOT NULL,
            purpose TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE certificates (
            sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
            serial TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('node', 'seal')),
            node_id TEXT NOT NULL,
            seal_id TEXT,
            subject TEXT NOT NULL,
            not_before TEXT NOT NULL,
            not_after TEXT NOT NULL,
            ca_fingerprint TEXT NOT NULL REFERENCES trust_anchors(fingerprint),
            enrolment_id TEXT NOT NULL,
            installed_at TEXT NOT NULL,
            pem TEXT NOT NULL
        );
        CREATE TABLE seal_appearances (
            seal_id TEXT NOT NULL,
            png_sha256 TEXT NOT NULL CHECK (length(png_sha256) = 64),
            svg_sha256 TEXT NOT NULL CHECK (length(svg_sha256) = 64),
            png BLOB NOT NULL,
            svg TEXT NOT NULL,
            PRIMARY KEY (seal_id, png_sha256)
        );
        CREATE TABLE crls (
            ca_fingerprint TEXT NOT NULL REFERENCES trust_anchors(fingerprint),
            number INTEGER NOT NULL CHECK (number > 0),
            last_update TEXT NOT NULL,
            next_update TEXT,
            imported_at TEXT NOT NULL,
            pem TEXT NOT NULL,
            PRIMARY KEY (ca_fingerprint, number)
        );

        CREATE TABLE issuance (
            seq INTEGER PRIMARY KEY CHECK (seq > 0),
            document_sha256 TEXT NOT NULL CHECK (length(document_sha256) = 64),
            kind TEXT NOT NULL,
            seal_id TEXT NOT NULL,
            case_id TEXT,
            doc_no TEXT,
            issued_at TEXT NOT NULL,
            prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
            hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
        );
        CREATE INDEX issuance_by_document ON issuance(document_sha256);
        CREATE TABLE issuance_attestations (
            attestation_id TEXT PRIMARY KEY,
            first_seq INTEGER NOT NULL CHECK (first_seq > 0),
            last_seq INTEGER NOT NULL CHECK (last_seq >= first_seq),
            merkle_root TEXT NOT NULL CHECK (length(merkle_root) = 64),
            county_time TEXT NOT NULL,
            ca_fingerprint TEXT NOT NULL REFERENCES trust_anchors(fingerprint),
            imported_at TEXT NOT NULL,
            document TEXT NOT NULL
        )
    """
    statements = [part.strip() for part in tables.split(";") if part.strip()]
    append_only = ("ca_certificates", "ca_revocations", "ca_crls", "ca_enrolments", "ca_attestations",
                   "ca_attested_documents", "enrolments", "issuance", "issuance_attestations", "crls")
    _run(db, statements + [_strictly_increasing("ca_crls", "number"), _strictly_increasing("issuance", "seq")]
         + [trigger for table in append_only for trigger in _append_only(table)])


@migrations(name="0003_replication")
def _replication(db: sqlite_utils.Database) -> None:
    """Replication (docs/adr/0010): peers, outbox and inbox, what each packet carried, drift repairs,
    signed catalog releases, case-number blocks and the audit chain heads children send up."""
    tables = """
        CREATE TABLE repl_peers (
            node_id TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            division TEXT NOT NULL,
            name TEXT NOT NULL,
            relation TEXT NOT NULL CHECK (relation IN ('upstream', 'child', 'known')),
            url TEXT,
            signing_public TEXT NOT NULL CHECK (length(signing_public) = 64),
            exchange_public TEXT NOT NULL CHECK (length(exchange_public) = 64),
            cert_pem TEXT,
            source TEXT NOT NULL,
            added_at TEXT NOT NULL,
            last_contact TEXT,
            clock_skew_ms INTEGER
        );
        CREATE TABLE repl_outbox (
            packet_id TEXT PRIMARY KEY,
            recipient TEXT NOT NULL,
            seq INTEGER NOT NULL CHECK (seq > 0),
            hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
            prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
            data BLOB,
            size INTEGER NOT NULL,
            items INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'refused', 'requeued')),
            receipt BLOB,
            reason_code TEXT,
            acknowledged_at TEXT,
            UNIQUE (recipient, seq)
        );
        CREATE INDEX repl_outbox_pending ON repl_outbox(recipient, status, seq);
        CREATE TABLE repl_carried (
            peer_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            ref TEXT NOT NULL,
            case_id TEXT,
            direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
            packet_id TEXT NOT NULL,
            PRIMARY KEY (peer_id, kind, ref)
        ) WITHOUT ROWID;
        CREATE INDEX repl_carried_by_case ON repl_carried(peer_id, case_id);
        CREATE INDEX repl_carried_by_packet ON repl_carried(packet_id);
        CREATE TABLE repl_peer_cases (
            peer_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            since TEXT NOT NULL,
            PRIMARY KEY (peer_id, case_id)
        ) WITHOUT ROWID;
        CREATE TABLE repl_rescan (
            peer_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            PRIMARY KEY (peer_id, case_id)
        ) WITHOUT ROWID;
        CREATE TABLE repl_inbox (
            packet_id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            seq INTEGER NOT NULL CHECK (seq > 0),
            hash TEXT NOT NULL CHECK (length(hash) = 64),
            size INTEGER NOT NULL,
            received_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('applying', 'accepted', 'refused', 'released', 'dismissed')),
            reason_code TEXT,
            reason TEXT,
            data BLOB,
            case_ids TEXT,
            receipt BLOB,
            acted_by TEXT,
            acted_at TEXT,
            note TEXT
        );
        CREATE INDEX repl_inbox_by_sender ON repl_inbox(sender, seq);
        CREATE TABLE repl_forks (
            sender TEXT NOT NULL,
            seq INTEGER NOT NULL,
            packet_id TEXT NOT NULL,
            other_packet_id TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            PRIMARY KEY (sender, seq, packet_id)
        );
        CREATE TABLE repl_unauthenticated (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            sender TEXT,
            packet_id TEXT,
            code TEXT NOT NULL
        );
        CREATE TABLE repl_repairs (
            id INTEGER PRIMARY KEY,
            peer_id TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('case', 'catalog')),
            ref TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('found', 'asked')),
            at TEXT NOT NULL,
            sent_in TEXT
        );
        CREATE INDEX repl_repairs_by_peer ON repl_repairs(peer_id, sent_in);
        CREATE TABLE repl_releases (
            version INTEGER PRIMARY KEY CHECK (version > 0),
            publisher TEXT NOT NULL,
            signer TEXT NOT NULL,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            signature TEXT NOT NULL,
            data BLOB NOT NULL,
            stored_at TEXT NOT NULL
        );
        CREATE TABLE repl_number_blocks (
            block_id TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            prefix TEXT NOT NULL,
            first INTEGER NOT NULL CHECK (first > 0),
            last INTEGER NOT NULL CHECK (last >= first),
            issued_by TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            next INTEGER NOT NULL,
            parent TEXT
        );
        CREATE INDEX repl_number_blocks_by_holder ON repl_number_blocks(holder, first);
        CREATE TABLE repl_audit_heads (
            node_id TEXT NOT NULL,
            seq INTEGER NOT NULL CHECK (seq >= 0),
            hash TEXT NOT NULL,
            at TEXT NOT NULL,
            signature TEXT NOT NULL,
            received_at TEXT NOT NULL,
            packet_id TEXT NOT NULL,
            problem TEXT,
            PRIMARY KEY (node_id, seq, hash)
        );
        CREATE TABLE repl_sent_heads (
            peer_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (peer_id, seq)
        ) WITHOUT ROWID
    """
    statements = [part.strip() for part in tables.split(";") if part.strip()]
    _run(db, statements + _append_only("repl_audit_heads") + _append_only("repl_forks"))


@migrations(name="0004_blob_transfer")
def _blob_transfer(db: sqlite_utils.Database) -> None:
    tables = """
        CREATE TABLE blob_refs (
            sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
            size INTEGER NOT NULL CHECK (size >= 0),
            media_type TEXT NOT NULL,
            case_id TEXT NOT NULL,
            event_id TEXT NOT NULL
        );
        CREATE TABLE blob_incoming (
            sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
            sender TEXT NOT NULL,
            total INTEGER NOT NULL CHECK (total > 0),
            chunk_size INTEGER NOT NULL CHECK (chunk_size > 0),
            confirmed INTEGER NOT NULL CHECK (confirmed >= 0),
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE blob_sent (
            peer_id TEXT NOT NULL,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            state TEXT NOT NULL CHECK (state IN ('sending', 'held', 'refused')),
            confirmed INTEGER NOT NULL DEFAULT 0 CHECK (confirmed >= 0),
            failures INTEGER NOT NULL DEFAULT 0,
            last_code TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (peer_id, sha256)
        ) WITHOUT ROWID;
        CREATE TABLE blob_discarded (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            sender TEXT NOT NULL,
            code TEXT NOT NULL
        )
    """
    _run(db, [part.strip() for part in tables.split(";") if part.strip()])


@migrations(name="0005_staff")
def _staff(db: sqlite_utils.Database) -> None:
    """Staff accounts and web sign-in sessions (docs/adr/0014): argon2id hashes only, session tokens hashed."""
    tables = """
        CREATE TABLE staff (
            login TEXT PRIMARY KEY CHECK (length(login) BETWEEN 2 AND 32),
            display_name TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 40),
            role TEXT NOT NULL CHECK (role IN ('clerk', 'reviewer', 'seal_custodian', 'admin', 'county_admin')),
            password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
            failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
            locked_until TEXT,
            disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            created_at TEXT NOT NULL,
            changed_at TEXT NOT NULL
        );
        CREATE TABLE staff_sessions (
            token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
            login TEXT NOT NULL REFERENCES staff(login) ON DELETE CASCADE,
            csrf_secret TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            idle_expires TEXT NOT NULL,
            absolute_expires TEXT NOT NULL
        );
        CREATE INDEX staff_sessions_by_login ON staff_sessions(login)
    """
    _run(db, [part.strip() for part in tables.split(";") if part.strip()])


@migrations(name="0006_evaluation_indexes")
def _evaluation_indexes(db: sqlite_utils.Database) -> None:
    """`conflicts list` looks for cases with several contested events (decisions, edits, evaluations): by
    type, then case, from an index instead of a scan of the whole event log (docs/adr/0013)."""
    _run(db, ["CREATE INDEX events_by_type ON events(type, case_id)"])


@migrations(name="0007_inbox_unsettled_index")
def _inbox_unsettled_index(db: sqlite_utils.Database) -> None:
    """The packets of a sender set aside or half-applied (drift digests skip their cases, every packet): from a
    partial index of those few rows instead of a scan of all the sender's packets (hub ingest was quadratic)."""
    _run(db, ["CREATE INDEX repl_inbox_unsettled ON repl_inbox(sender) WHERE status IN ('refused', 'applying')"])


@migrations(name="0008_cases_by_received")
def _cases_by_received(db: sqlite_utils.Database) -> None:
    """The 办件 list pages newest first and filters by the day received: from an index on received_at instead
    of sorting every case for each page (10,000 cases: a far page or a date range read the whole table)."""
    _run(db, ["CREATE INDEX cases_by_received ON cases(received_at, id)"])


@migrations(name="0009_cases_by_due")
def _cases_by_due(db: sqlite_utils.Database) -> None:
    """首页's deadlines: open cases by their next date (the notice deadline while registered, else the completion
    deadline), from a partial index on that expression instead of reading and sorting every open case (10,000
    cases: 33 ms a page). Queries must use the same expression (edgenode/web/pages_home.py DUE_KEY)."""
    _run(db, ["CREATE INDEX cases_by_due ON cases(COALESCE(CASE WHEN status = 'registered' THEN notice_due END, "
              "deadline), received_at) WHERE status IN ('registered', 'accepted')"])
