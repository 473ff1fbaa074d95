"""SQLAlchemy models: participants, their planned trials, and one row per answered question.

Nothing is ever deleted: exclusions are computed at export time. Uniqueness constraints make
answers idempotent under concurrent resubmission (``(trial_id, question)``) and stop one
recruitment id from starting twice (``start_key``, NULL when repeats are allowed).

Columns added after the first release are nullable, so that :mod:`study_server.migrate` can add
them to an existing database (``active_at``, ``abandoned_at``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from study_server.clock import utcnow


class Base(DeclarativeBase):
    """Declarative base of the study server's tables."""


class ServerSecret(Base):
    """Secrets shared by all workers and kept across restarts (session signing key)."""

    __tablename__ = "server_secret"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class StudyState(Base):
    """Whether a study accepts new participants."""

    __tablename__ = "study_state"
    study_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    is_open: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Participant(Base):
    """One participant session of one study."""

    __tablename__ = "participant"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    study_id: Mapped[str] = mapped_column(String(64), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_pid: Mapped[str | None] = mapped_column(String(64), index=True)
    external_study_id: Mapped[str | None] = mapped_column(String(64))
    external_session_id: Mapped[str | None] = mapped_column(String(64))
    start_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    list_index: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16))
    age: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: last stage change or resume (answers are dated by ``trial.answered_at``); NULL: ``created_at``
    active_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: when the session was found idle past the study's ``abandon_after_minutes`` (its list is reassigned)
    abandoned_at: Mapped[datetime | None] = mapped_column(DateTime)
    trials: Mapped[list[Trial]] = relationship(back_populates="participant", order_by="Trial.seq")


class Trial(Base):
    """A planned trial of a participant (stimulus and method are server-side only)."""

    __tablename__ = "trial"
    __table_args__ = (UniqueConstraint("participant_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    trial_index: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    stimulus_id: Mapped[str] = mapped_column(String(128))
    item_id: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(128))
    expected: Mapped[int | None] = mapped_column(Integer)
    shown_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    participant: Mapped[Participant] = relationship(back_populates="trials")
    answers: Mapped[list[Answer]] = relationship(back_populates="trial", order_by="Answer.id")


class Answer(Base):
    """One rating of one question on one trial."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("trial_id", "question"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    question: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)
    rt_ms: Mapped[int] = mapped_column(Integer)
    server_rt_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    trial: Mapped[Trial] = relationship(back_populates="answers")
