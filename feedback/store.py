"""The durable feedback store: bot decisions, moderator corrections and DVC exports.

SQLite in WAL mode at `state_dir()/feedback.db` by default; any SQLAlchemy URL (e.g.
`postgresql+psycopg://...`) through `CHATLOOP_FEEDBACK_DB`. Every write is one transaction,
so a request either stores everything it carries or nothing. A correction with an
idempotency key is stored once: repeating the key returns the stored row.
"""
from __future__ import annotations

import math
import os
import re
import threading
import unicodedata
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import (JSON, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData,
                        String, Table, Text, UniqueConstraint, create_engine, event, func,
                        insert, make_url, select, update)
from sqlalchemy.exc import DataError, IntegrityError

from chatloop.errors import ChatloopError
from components.config import state_dir
from components.labels import LABELS, LabelError, check_label

DB_ENV = "CHATLOOP_FEEDBACK_DB"
SYNC_ENV = "CHATLOOP_FEEDBACK_SQLITE_SYNC"   # FULL (default): every commit reaches the disk
BUSY_TIMEOUT_MS = 30_000
MAX_ID = 2**63 - 1        # the largest SQLite INTEGER: a larger id cannot even be looked up
SURROGATE = re.compile("[\ud800-\udfff]")
INVISIBLE = "\u115f\u1160\u3164\uffa0"   # Hangul fillers: blank-looking letters

metadata = MetaData()
decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(32)), Column("channel", String(200)),
    Column("message_id", String(200)), Column("user_id", String(200)),
    Column("text", Text, nullable=False), Column("label", String(16), nullable=False),
    Column("probs", JSON), Column("confidence", Float, nullable=False),
    Column("model_name", String(200)), Column("model_version", String(64)),
    Column("action", String(32)), Column("latency_ms", Float),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("platform", "channel", "message_id", name="uq_decision_message"),
    Index("ix_decisions_confidence", "confidence"),
    Index("ix_decisions_message", "platform", "message_id"),
)
exports = Table(
    "exports", metadata,
    Column("id", Integer, primary_key=True),
    Column("file", String(300), nullable=False),
    Column("count", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("git_commit", String(64)),
    Column("status", String(16), nullable=False),   # see feedback.export.STAGES
    Column("triggered_at", DateTime(timezone=True)),
)
corrections = Table(
    "corrections", metadata,
    Column("id", Integer, primary_key=True),
    Column("decision_id", Integer, ForeignKey("decisions.id"), index=True),
    Column("text", Text, nullable=False), Column("label", String(16), nullable=False),
    Column("moderator", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("idempotency_key", String(200), unique=True),
    Column("exported_in", Integer, ForeignKey("exports.id"), index=True),
)

# What a human moderator did on the platform (serving relays the source's events).
platform_events = Table(
    "platform_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(32), nullable=False), Column("channel", String(200)),
    Column("message_id", String(200)), Column("user_id", String(200)),
    Column("kind", String(16), nullable=False), Column("duration_s", Float),
    Column("ts", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("platform", "channel", "kind", "message_id", "user_id", "ts",
                     name="uq_platform_event"),
    Index("ix_platform_events_message", "platform", "message_id"),
    Index("ix_platform_events_user", "platform", "user_id"),
)
# A decision put at the head of the review queue, and why (one flag per decision and reason).
review_flags = Table(
    "review_flags", metadata,
    Column("id", Integer, primary_key=True),
    Column("decision_id", Integer, ForeignKey("decisions.id"), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("event_id", Integer, ForeignKey("platform_events.id")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("decision_id", "reason", name="uq_review_flag"),
)
PLATFORM_MODERATION = "platform-moderation"
EVENT_KINDS = ("delete", "timeout", "ban", "clear")


class FeedbackError(ChatloopError, ValueError):
    """Input the store refuses (unknown label, empty or oversize text, unknown decision)."""


class IdempotencyConflict(FeedbackError):
    """An idempotency key reused with a different payload."""


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z; SQLite hands back naive datetimes, which are UTC here."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def default_url() -> str:
    return os.environ.get(DB_ENV) or f"sqlite:///{state_dir() / 'feedback.db'}"


def is_blank(text: str) -> bool:
    """True when nothing in `text` is visible: whitespace, zero-width and other format
    characters (U+200B, U+FEFF, ...) and Hangul fillers only."""
    return all(c.isspace() or c in INVISIBLE or unicodedata.category(c) == "Cf" for c in text)


def check_text(text: object, max_chars: int) -> str:
    """A non-blank chat text of valid Unicode, at most `max_chars` characters, else
    FeedbackError."""
    if not isinstance(text, str) or is_blank(text):
        raise FeedbackError("text must be a non-empty string (not only spaces or "
                            "zero-width characters)")
    if len(text) > max_chars:
        raise FeedbackError(f"text is {len(text)} characters; the limit is {max_chars}")
    if "\x00" in text:
        raise FeedbackError("text must not contain NUL characters")
    if SURROGATE.search(text):
        raise FeedbackError("text is not valid Unicode (it contains a lone surrogate "
                            "such as \\ud800)")
    return text


def is_number(value: object) -> bool:
    """A finite int or float (a bool is not a number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _label(label: object) -> str:
    try:
        return check_label(label)
    except LabelError as exc:
        raise FeedbackError(str(exc)) from None


def _finite(value: Any) -> Any:
    """`value` with NaN and infinities (in a legacy row, or its probs) as None: JSON has
    no way to send them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _row(row) -> dict:
    out = dict(row._mapping)
    for key, value in out.items():
        out[key] = iso(value) if isinstance(value, datetime) else _finite(value)
    return out


class Store:
    """Decisions, corrections and exports in one SQLAlchemy database."""

    def __init__(self, url: str | None = None, max_text_chars: int | None = None,
                 moderation_window_s: float | None = None, moderation_late_s: float | None = None):
        """`max_text_chars`: longer chat texts are refused (params feedback.max_text_chars,
        the one limit of a chat message's length). `moderation_window_s`: a timeout or ban on
        the platform flags the user's normal decisions stored up to this long before it;
        `moderation_late_s`: ... and up to this long after it (decisions reach the store a
        few seconds after the message); params feedback.platform_moderation.window_s /
        late_s. A value left None is read from params.yaml."""
        self.url = url or default_url()
        given = (max_text_chars, moderation_window_s, moderation_late_s)
        if None in given:
            from components.config import load_params
            section = load_params()["feedback"]
            read = (section["max_text_chars"], section["platform_moderation"]["window_s"],
                    section["platform_moderation"]["late_s"])
            max_text_chars, moderation_window_s, moderation_late_s = (
                r if g is None else g for g, r in zip(given, read))
        self.max_text_chars = int(max_text_chars)
        self.moderation_window_s = float(moderation_window_s)
        self.moderation_late_s = float(moderation_late_s)
        self.sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.sqlite:
            database = make_url(self.url).database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000,
                                      "check_same_thread": False}
        self.engine = create_engine(self.url, **kwargs)
        if self.sqlite:
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        # One writer at a time inside this process: threads queue on a lock instead of
        # spinning in SQLite's busy handler; other processes still wait on busy_timeout.
        self._write_lock = threading.Lock() if self.sqlite else None
        metadata.create_all(self.engine)

    def ping(self) -> None:
        """Raise when the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(select(1))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); commits or rolls back whole."""
        lock = self._write_lock
        if lock:
            lock.acquire()
        try:
            with self.engine.connect().execution_options(immediate=True) as conn:
                with conn.begin():
                    yield conn
        finally:
            if lock:
                lock.release()

    # ------------------------------------------------------------------ decisions
    def add_decisions(self, rows: list[dict]) -> list[int]:
        """Store a batch of bot decisions in one transaction; returns their ids in order.

        A decision already stored (same platform, channel and message id) is not stored
        twice; its existing id is returned, so serving may retry a batch safely.
        """
        clean = [self._decision(row, i) for i, row in enumerate(rows)]
        ids, new_normal = [], []
        with self._write() as conn:
            for row in clean:
                existing = None
                if row.get("message_id") is not None:
                    existing = conn.execute(select(decisions.c.id).where(
                        decisions.c.platform == row.get("platform"),
                        decisions.c.channel == row.get("channel"),
                        decisions.c.message_id == row["message_id"])).scalar()
                if existing is None:
                    existing = conn.execute(insert(decisions).values(**row)).inserted_primary_key[0]
                    if row["label"] == "normal" and row.get("platform"):
                        new_normal.append(dict(row, id=existing))
                ids.append(existing)
            if new_normal:
                self._flag_late_decisions(conn, new_normal)
        return ids

    def _decision(self, row: dict, index: int) -> dict:
        where = f"decision {index}: "
        try:
            text = check_text(row.get("text"), self.max_text_chars)
            label = _label(row.get("label"))
        except FeedbackError as exc:
            raise FeedbackError(where + str(exc)) from None
        confidence = row.get("confidence")
        if not is_number(confidence) or not 0.0 <= confidence <= 1.0:
            raise FeedbackError(where + "confidence must be a number between 0 and 1")
        probs = row.get("probs")
        if probs is not None and (not isinstance(probs, dict) or set(probs) - set(LABELS)
                                  or not all(map(is_number, probs.values()))):
            raise FeedbackError(where + f"probs must map labels ({', '.join(LABELS)}) "
                                "to finite numbers")
        latency = row.get("latency_ms")
        if latency is not None and not is_number(latency):
            raise FeedbackError(where + "latency_ms must be a finite number")
        out = {"text": text, "label": label, "confidence": float(confidence), "probs": probs,
               "created_at": now()}
        for key in ("platform", "channel", "message_id", "user_id", "model_name",
                    "model_version", "action"):
            value = row.get(key)
            out[key] = None if value is None else str(value)[:200]
        out["latency_ms"] = None if latency is None else float(latency)
        return out

    def get_decision(self, decision_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()
        return _row(row) if row else None

    def find_decision(self, platform: str, message_id: str, channel: str | None = None) -> dict | None:
        """The latest decision about a platform message (for chat commands)."""
        with self.engine.connect() as conn:
            decision_id = self._decision_for(conn, platform, message_id, channel)
        return self.get_decision(decision_id) if decision_id is not None else None

    @staticmethod
    def _decision_for(conn, platform: str, message_id: str, channel: str | None) -> int | None:
        query = select(decisions.c.id).where(decisions.c.platform == platform,
                                             decisions.c.message_id == str(message_id))
        if channel is not None:
            query = query.where(decisions.c.channel == channel)
        return conn.execute(query.order_by(decisions.c.id.desc()).limit(1)).scalar()

    # ---------------------------------------------------------------- corrections
    def add_correction(self, *, label: str, moderator: str, text: str | None = None,
                       decision_id: int | None = None, idempotency_key: str | None = None,
                       platform: str | None = None, message_id: str | None = None,
                       channel: str | None = None) -> tuple[dict, bool]:
        """Store one correction; returns (row, created).

        The decision corrected is named by `decision_id`, or by the chat message
        (`platform`, `message_id`, optionally `channel`); its text is the default text.
        Repeating an idempotency key returns the stored row with created=False; reusing
        it for a different correction raises IdempotencyConflict.
        """
        item = dict(label=label, moderator=moderator, text=text, decision_id=decision_id,
                    idempotency_key=idempotency_key, platform=platform, message_id=message_id,
                    channel=channel)
        result = self.add_corrections([item])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def add_corrections(self, items: list[dict]) -> list[tuple[dict, bool] | FeedbackError]:
        """Store many corrections in one transaction (one disk sync: group commit).

        Each item holds add_correction's keyword arguments and gets its own savepoint, so
        a refused item changes nothing and does not affect the others, even one the
        database cannot take. Returns, per item, (row, created) or the FeedbackError that
        refused it.
        """
        results: list = [None] * len(items)
        todo = []
        for i, item in enumerate(items):
            try:
                todo.append((i, self._correction(**item)))
            except FeedbackError as exc:
                results[i] = exc
        if not todo:
            return results
        with self._write() as conn:
            for i, values in todo:
                try:
                    with conn.begin_nested():
                        results[i] = self._insert_correction(conn, values)
                except FeedbackError as exc:
                    results[i] = exc
                except IntegrityError:
                    # Another process stored the same key between our read and insert.
                    stored = self._by_key(conn, values["idempotency_key"]) \
                        if values["idempotency_key"] is not None else None
                    if stored is None:
                        raise
                    try:
                        results[i] = self._same(stored, values), False
                    except FeedbackError as exc:
                        results[i] = exc
                except (UnicodeError, OverflowError, DataError) as exc:
                    # A value the driver cannot bind (SQLite: a lone surrogate, an int over
                    # 64 bits) or the database refuses (Postgres: out of range).
                    results[i] = FeedbackError("the correction cannot be stored: "
                                               f"{getattr(exc, 'orig', None) or exc}")
        return results

    def _correction(self, *, label: str, moderator: str, text: str | None = None,
                    decision_id: int | None = None, idempotency_key: str | None = None,
                    platform: str | None = None, message_id: str | None = None,
                    channel: str | None = None) -> dict:
        """Validated column values for a correction (the text may still come from the
        decision, which may be named by id or by its platform message id)."""
        label = _label(label)
        if decision_id is not None and not (isinstance(decision_id, int) and not isinstance(
                decision_id, bool) and 1 <= decision_id <= MAX_ID):
            raise FeedbackError(f"decision_id must be an integer from 1 to {MAX_ID}")
        if message_id is not None and not platform:
            raise FeedbackError("'message_id' needs 'platform'")
        if text is not None:
            text = check_text(text, self.max_text_chars)
        elif decision_id is None and message_id is None:
            raise FeedbackError("a correction needs 'text', 'decision_id' or 'message_id'")
        if not moderator or not isinstance(moderator, str):
            raise FeedbackError("a correction needs a moderator name")
        if idempotency_key is not None and (not isinstance(idempotency_key, str)
                                            or not 0 < len(idempotency_key) <= 200):
            raise FeedbackError("idempotency_key must be a string of 1 to 200 characters")
        return {"decision_id": decision_id, "text": text, "label": label,
                "moderator": moderator[:200], "idempotency_key": idempotency_key,
                "message": (platform, str(message_id), channel) if message_id is not None
                and decision_id is None else None}

    def _insert_correction(self, conn, values: dict) -> tuple[dict, bool]:
        values = dict(values)
        message = values.pop("message")
        if message:
            platform, message_id, channel = message
            values["decision_id"] = self._decision_for(conn, platform, message_id, channel)
            if values["decision_id"] is None:
                raise FeedbackError(f"no decision for {platform} message {message_id}")
        if values["idempotency_key"] is not None:
            stored = self._by_key(conn, values["idempotency_key"])
            if stored:
                return self._same(stored, values), False
        values["created_at"] = now()
        if values["decision_id"] is not None:
            decision_text = conn.execute(select(decisions.c.text).where(
                decisions.c.id == values["decision_id"])).scalar()
            if decision_text is None:
                raise FeedbackError(f"decision {values['decision_id']} not found")
            if values["text"] is None:
                values["text"] = decision_text
        row = conn.execute(insert(corrections).values(**values)
                           .returning(*corrections.c)).first()
        return _row(row), True

    @staticmethod
    def _by_key(conn, key: str) -> dict | None:
        row = conn.execute(select(corrections).where(corrections.c.idempotency_key == key)).first()
        return _row(row) if row else None

    @staticmethod
    def _same(stored: dict, values: dict) -> dict:
        if stored["label"] != values["label"] or values["decision_id"] not in (
                None, stored["decision_id"]) \
                or (values["text"] is not None and stored["text"] != values["text"]):
            raise IdempotencyConflict(
                f"idempotency key {stored['idempotency_key']!r} was already used for "
                f"correction {stored['id']} with a different payload")
        return stored

    def corrections(self, **where: Any) -> list[dict]:
        """All corrections (optionally filtered by column values), oldest first."""
        query = select(corrections).order_by(corrections.c.id)
        for key, value in where.items():
            query = query.where(corrections.c[key] == value)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    # --------------------------------------------------------------------- review
    def review_queue(self, limit: int = 50, confident_share: float = 0.1,
                     confident_min: float = 0.9) -> list[dict]:
        """Uncorrected decisions, least confident first, with a random `confident_share`
        of confident ones (confidence >= confident_min) spread through the list as audits."""
        uncorrected = ~select(corrections.c.id).where(
            corrections.c.decision_id == decisions.c.id).exists()
        with self.engine.connect() as conn:
            flagged = self._flagged(conn, uncorrected, limit)
            limit -= len(flagged)
            n_audit = int(round(limit * confident_share))
            skip = [r["id"] for r in flagged]
            query = select(decisions).where(uncorrected, decisions.c.confidence >= confident_min)
            if skip:
                query = query.where(decisions.c.id.notin_(skip))
            audit = [dict(_row(r), sample="audit") for r in conn.execute(
                query.order_by(func.random()).limit(n_audit))] if n_audit else []
            seen = skip + [r["id"] for r in audit]
            query = select(decisions).where(uncorrected).order_by(decisions.c.confidence,
                                                                  decisions.c.id)
            if seen:
                query = query.where(decisions.c.id.notin_(seen))
            uncertain = [dict(_row(r), sample="uncertain")
                         for r in conn.execute(query.limit(limit - len(audit)))]
        # Spread the audits evenly so a moderator who reviews only the top still sees some.
        out = list(uncertain)
        step = max(1, len(out) // (len(audit) + 1)) if audit else 0
        for i, row in enumerate(audit):
            out.insert(min(len(out), (i + 1) * step + i), row)
        return flagged + out

    @staticmethod
    def _flagged(conn, uncorrected, limit: int) -> list[dict]:
        """Uncorrected flagged decisions, newest flag first, with `sample` = the flag's
        reason and `flag` = {reason, kind, event_id, moderated_at}."""
        rows = conn.execute(
            select(decisions, review_flags.c.reason.label("flag_reason"),
                   review_flags.c.event_id.label("flag_event_id"),
                   platform_events.c.kind.label("flag_kind"),
                   platform_events.c.ts.label("flag_ts"))
            .select_from(decisions.join(review_flags, review_flags.c.decision_id == decisions.c.id)
                         .outerjoin(platform_events,
                                    platform_events.c.id == review_flags.c.event_id))
            .where(uncorrected).order_by(review_flags.c.id.desc()).limit(limit)).all()
        out, seen = [], set()
        for r in rows:
            row = _row(r)
            if row["id"] in seen:
                continue
            seen.add(row["id"])
            flag = {"reason": row.pop("flag_reason"), "event_id": row.pop("flag_event_id"),
                    "kind": row.pop("flag_kind"), "moderated_at": row.pop("flag_ts")}
            out.append(dict(row, sample=flag["reason"], flag=flag))
        return out

    # ------------------------------------------------------ platform moderation
    def add_platform_events(self, events: list[dict]) -> list[dict]:
        """Store what human moderators did on the platform (one transaction) and flag the
        bot's `normal` decisions they contradict for review (reason `platform-moderation`):
        a deleted message's decision (platform + message id, + channel when given); for a
        timeout or ban, the user's normal decisions stored from `moderation_window_s`
        before to `moderation_late_s` after the event. A decision that arrives later is
        flagged when it is stored. A repeated event is stored once. Returns per event
        {"id", "flagged": [decision ids]}."""
        clean = [self._event(event, i) for i, event in enumerate(events)]
        out = []
        with self._write() as conn:
            for event in clean:
                match = [platform_events.c[k] == event[k] if event[k] is not None
                         else platform_events.c[k].is_(None)
                         for k in ("platform", "channel", "kind", "message_id", "user_id", "ts")]
                event_id = conn.execute(select(platform_events.c.id).where(*match)).scalar()
                if event_id is None:
                    event_id = conn.execute(insert(platform_events).values(
                        **event, created_at=now())).inserted_primary_key[0]
                query = self._covered(event)
                ids = [] if query is None else [r.id for r in conn.execute(query)]
                out.append({"id": event_id, "flagged": self._flag(conn, ids, event_id)})
        return out

    @staticmethod
    def _event(event: object, index: int) -> dict:
        where = f"event {index}: "
        if not isinstance(event, dict):
            raise FeedbackError(where + "must be an object")
        out = {}
        for key in ("platform", "channel", "message_id", "user_id"):
            value = event.get(key)
            if value is not None and (not isinstance(value, (str, int)) or isinstance(value, bool)
                                      or not str(value).strip() or SURROGATE.search(str(value))):
                raise FeedbackError(where + f"{key} must be a non-empty string")
            out[key] = None if value is None else str(value)[:200]
        if not out["platform"]:
            raise FeedbackError(where + "needs 'platform'")
        if event.get("kind") not in EVENT_KINDS:
            raise FeedbackError(where + f"kind must be one of {', '.join(EVENT_KINDS)}")
        out["kind"] = event["kind"]
        for key in ("ts", "duration_s"):
            value = event.get(key)
            if value is not None and (not is_number(value) or value < 0):
                raise FeedbackError(where + f"{key} must be a finite number >= 0")
        out["ts"] = float(event["ts"]) if event.get("ts") is not None else now().timestamp()
        out["duration_s"] = None if event.get("duration_s") is None else float(event["duration_s"])
        return out

    def _covered(self, event: dict):
        """The query for the normal decisions an event contradicts (None: it names none)."""
        query = select(decisions.c.id).where(decisions.c.platform == event["platform"],
                                             decisions.c.label == "normal")
        if event["channel"] is not None:
            query = query.where(decisions.c.channel == event["channel"])
        if event["kind"] == "delete" and event["message_id"] is not None:
            return query.where(decisions.c.message_id == event["message_id"])
        if event["kind"] in ("timeout", "ban") and event["user_id"] is not None:
            since = datetime.fromtimestamp(event["ts"] - self.moderation_window_s, timezone.utc)
            until = datetime.fromtimestamp(event["ts"] + self.moderation_late_s, timezone.utc)
            return query.where(decisions.c.user_id == event["user_id"],
                               decisions.c.created_at >= since, decisions.c.created_at <= until)
        return None

    def _flag_late_decisions(self, conn, rows: list[dict]) -> None:
        """Flag newly stored normal decisions that an earlier platform event covers."""
        message_ids = {r["message_id"] for r in rows if r.get("message_id") is not None}
        user_ids = {r["user_id"] for r in rows if r.get("user_id") is not None}
        events = conn.execute(select(platform_events).where(
            platform_events.c.platform.in_(sorted({r["platform"] for r in rows})),
            ((platform_events.c.kind == "delete")
             & platform_events.c.message_id.in_(sorted(message_ids)))
            | (platform_events.c.kind.in_(("timeout", "ban"))
               & platform_events.c.user_id.in_(sorted(user_ids))))).all()
        for event in events:
            for row in rows:
                if row["platform"] != event.platform or event.channel not in (None, row["channel"]):
                    continue
                stored = row["created_at"].timestamp()
                if (event.kind == "delete" and row["message_id"] == event.message_id) or (
                        event.kind != "delete" and row["user_id"] == event.user_id
                        and event.ts - self.moderation_window_s <= stored
                        <= event.ts + self.moderation_late_s):
                    self._flag(conn, [row["id"]], event.id)

    @staticmethod
    def _flag(conn, decision_ids: list[int], event_id: int) -> list[int]:
        """Flag decisions for review (reason platform-moderation), each once."""
        if not decision_ids:
            return []
        done = set(conn.execute(select(review_flags.c.decision_id).where(
            review_flags.c.decision_id.in_(decision_ids),
            review_flags.c.reason == PLATFORM_MODERATION)).scalars())
        for decision_id in decision_ids:
            if decision_id not in done:
                conn.execute(insert(review_flags).values(
                    decision_id=decision_id, reason=PLATFORM_MODERATION, event_id=event_id,
                    created_at=now()))
                done.add(decision_id)
        return list(decision_ids)

    def stats(self) -> dict:
        """Counts for monitoring: decisions per label, corrections, agreement, exports."""
        with self.engine.connect() as conn:
            by_label = dict(conn.execute(select(decisions.c.label, func.count())
                                         .group_by(decisions.c.label)).all())
            corr_by_label = dict(conn.execute(select(corrections.c.label, func.count())
                                              .group_by(corrections.c.label)).all())
            unexported = conn.execute(select(func.count()).select_from(corrections)
                                      .where(corrections.c.exported_in.is_(None))).scalar()
            reviewed, agreed = conn.execute(
                select(func.count(), func.sum((corrections.c.label == decisions.c.label)
                                              .cast(Integer)))
                .select_from(corrections.join(decisions))).one()
            last = conn.execute(select(exports).order_by(exports.c.id.desc()).limit(1)).first()
            flags = conn.execute(select(func.count()).select_from(review_flags)).scalar()
        return {
            "decisions": sum(by_label.values()), "decisions_by_label": by_label,
            "corrections": sum(corr_by_label.values()), "corrections_by_label": corr_by_label,
            "unexported": unexported, "reviewed_decisions": reviewed,
            "agreement": round((agreed or 0) / reviewed, 4) if reviewed else None,
            "last_export": _row(last) if last else None,
            "platform_moderation_flags": flags,
        }

    # -------------------------------------------------------------------- exports
    def open_export(self, file: str) -> dict | None:
        """Claim every unexported correction for a new export (status `pending`), in one
        transaction. None when there is nothing to export."""
        unexported = corrections.c.exported_in.is_(None)
        with self._write() as conn:
            if not conn.execute(select(corrections.c.id).where(unexported).limit(1)).first():
                return None
            export_id = conn.execute(insert(exports).values(
                file=file, count=0, created_at=now(), status="pending")).inserted_primary_key[0]
            count = conn.execute(update(corrections).where(unexported)
                                 .values(exported_in=export_id)).rowcount
            conn.execute(update(exports).where(exports.c.id == export_id).values(count=count))
            return _row(conn.execute(select(exports).where(exports.c.id == export_id)).first())

    def exports(self, unfinished: bool = False) -> list[dict]:
        query = select(exports).order_by(exports.c.id)
        if unfinished:
            query = query.where(exports.c.status != "done")
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def export_rows(self, export_id: int) -> list[dict]:
        """The corrections claimed by an export, with the decision's model version."""
        query = (select(corrections, decisions.c.model_version, decisions.c.platform)
                 .select_from(corrections.outerjoin(decisions))
                 .where(corrections.c.exported_in == export_id).order_by(corrections.c.id))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def set_export(self, export_id: int, **values: Any) -> None:
        with self._write() as conn:
            conn.execute(update(exports).where(exports.c.id == export_id).values(**values))

    def untriggered(self) -> tuple[list[int], int]:
        """Finished exports not yet followed by a pipeline run: (ids, corrections in them)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(exports.c.id, exports.c.count).where(
                exports.c.status == "done", exports.c.triggered_at.is_(None))).all()
        return [r.id for r in rows], sum(r.count for r in rows)

    def mark_triggered(self, export_ids: list[int]) -> None:
        with self._write() as conn:
            conn.execute(update(exports).where(exports.c.id.in_(export_ids))
                         .values(triggered_at=now()))


def _sqlite_connect(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (the pysqlite recipe), and make the
    # file durable: WAL, fsync on commit (FULL unless
    # CHATLOOP_FEEDBACK_SQLITE_SYNC says otherwise), wait for other writers instead of failing.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    sync = os.environ.get(SYNC_ENV, "FULL").upper()
    if sync not in ("FULL", "NORMAL", "EXTRA"):
        raise FeedbackError(f"{SYNC_ENV} must be FULL, EXTRA or NORMAL, not {sync!r}")
    cursor.execute(f"PRAGMA synchronous={sync}")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so a read-then-write transaction
    # never fails half-way with SQLITE_BUSY.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate")
                         else "BEGIN")
