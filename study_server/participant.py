"""Participant pages: information, consent, demographics, instructions, trials, debrief, images.

Every page is blinded: it names images only by opaque token and never shows a method,
parameter, stimulus id or file name. ``GET /`` resumes a returning participant where they left.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, Response, jsonify, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as BaseResponse

from study_server import flow
from study_server.answers import submit_answer
from study_server.app import error_response, runtime
from study_server.assignment import record_presence
from study_server.db import study_is_open
from study_server.errors import RequestRejected
from study_server.models import Participant, utcnow
from study_server.returning import mark_resumed, returning_participant
from study_server.validation import (
    GENDERS,
    MAX_RT_MS,
    check_fields,
    parse_int,
    parse_ratings,
    parse_recruitment,
    parse_seq,
)

bp = Blueprint("participant", __name__)

STAGE_ENDPOINT = {
    "demographics": "participant.demographics",
    "instructions": "participant.instructions",
    "trials": "participant.trial",
    "done": "participant.done",
}


def _participant() -> Participant | None:
    return flow.get_participant(runtime().db, session.get("pid"))


def _require_participant() -> Participant:
    participant = _participant()
    if participant is None:
        raise RequestRejected(403, "no study session in this browser: open the study link to start")
    return participant


def _to_stage(participant: Participant | SimpleNamespace) -> BaseResponse:
    return redirect(url_for(STAGE_ENDPOINT[participant.stage]), code=303)


@bp.get("/")
def information() -> BaseResponse | str | tuple[str, int]:
    """Study information; captures recruitment ids; resumes a returning participant."""
    rt = runtime()
    recruit = parse_recruitment(request.args)
    participant = _participant()
    if participant is not None:
        if recruit and flow.start_key(rt.study, recruit) not in (None, participant.start_key):
            raise RequestRejected(409, "this browser is already taking part in the study under another participant id")
        if participant.abandoned_at is not None:
            mark_resumed(rt.db, participant.public_id)
        return _to_stage(participant)
    if recruit.get("assignmentId") == "ASSIGNMENT_ID_NOT_AVAILABLE":
        return render_template("information.html", study=rt.study, preview=True, is_open=True)
    if recruit:
        session["recruit"] = recruit
    returning = returning_participant(rt.db, rt.study, session.get("recruit", {}))
    if returning is not None:  # the same platform participant and session, in a new browser
        return _resume(returning)
    with rt.db() as db:
        is_open = study_is_open(db, rt.study.study_id)
    if not is_open:
        return render_template("information.html", study=rt.study, preview=False, is_open=False), 403
    return render_template("information.html", study=rt.study, preview=False, is_open=True)


def _resume(public_id: str) -> BaseResponse:
    """Continue ``public_id``'s session in this browser, where they stopped."""
    rt = runtime()
    mark_resumed(rt.db, public_id)
    session.pop("recruit", None)
    session["pid"] = public_id
    participant = flow.get_participant(rt.db, public_id)
    assert participant is not None
    return _to_stage(participant)


@bp.get("/resume/<token>")
def resume(token: str) -> BaseResponse:
    """The private resume link shown at the start: continues its participant in any browser."""
    rt = runtime()
    public_id = rt.links.public_id(token)
    found = flow.get_participant(rt.db, public_id)
    if found is None or found.study_id != rt.study.study_id:
        raise RequestRejected(404, "this resume link is not valid; check that it was copied whole")
    current = _participant()
    if current is not None and current.public_id != found.public_id:
        raise RequestRejected(409, "this browser is already taking part in the study under another participant id")
    return _resume(found.public_id)


def _resume_link(participant: Participant) -> str:
    return url_for("participant.resume", token=runtime().links.token(participant.public_id), _external=True)


@bp.route("/consent", methods=["GET", "POST"])
def consent() -> BaseResponse | str:
    """The consent text of the study folder; agreeing creates the participant and their plan."""
    rt = runtime()
    participant = _participant()
    if participant is not None:
        return _to_stage(participant)
    if request.method == "GET":
        paragraphs = [p.strip() for p in rt.study.consent_text.split("\n\n") if p.strip()]
        return render_template("consent.html", study=rt.study, paragraphs=paragraphs)
    check_fields(request.form, {"csrf_token", "consent"}, {"consent"})
    answer = request.form["consent"]
    if answer == "no":
        return render_template("message.html", title="No consent given", text="You did not consent, so no data were recorded. You may close this window.")
    if answer != "yes":
        raise RequestRejected(400, f"field 'consent' must be 'yes' or 'no', got {answer[:20]!r}")
    participant = flow.start_participant(rt.db, rt.study, session.get("recruit", {}))
    session["pid"] = participant.public_id
    return _to_stage(participant)


@bp.route("/demographics", methods=["GET", "POST"])
def demographics() -> BaseResponse | str:
    """Optional age and gender (both may be left blank)."""
    participant = _require_participant()
    if participant.stage != "demographics":
        return _to_stage(participant)
    if request.method == "GET":
        return render_template("demographics.html", study=runtime().study, genders=GENDERS,
                               resume_link=_resume_link(participant))
    check_fields(request.form, {"csrf_token", "age", "gender"})
    age_text = request.form.get("age", "")
    age = parse_int(age_text, "age", 18, 120) if age_text else None
    gender = request.form.get("gender", "") or None
    if gender is not None and gender not in GENDERS:
        raise RequestRejected(400, f"field 'gender' must be one of {', '.join(GENDERS)}, got {gender[:20]!r}")
    flow.advance(runtime().db, participant, "demographics", age=age, gender=gender)
    return redirect(url_for("participant.instructions"), code=303)


@bp.route("/instructions", methods=["GET", "POST"])
def instructions() -> BaseResponse | str:
    """How to answer; continuing leads to the practice trials."""
    participant = _require_participant()
    if participant.stage != "instructions":
        return _to_stage(participant)
    if request.method == "GET":
        return render_template("instructions.html", study=runtime().study, resume_link=_resume_link(participant))
    check_fields(request.form, {"csrf_token"})
    flow.advance(runtime().db, participant, "instructions")
    return redirect(url_for("participant.trial"), code=303)


def _image_url(token: str) -> str:
    return f"{request.script_root}/img/{token}.png"


def _images(trial: SimpleNamespace) -> list[tuple[str, str]]:
    """``(caption, url)`` of the images of a trial: source, target (transfer), edited."""
    rt = runtime()
    stimulus = rt.study.stimuli[trial.stimulus_id]
    shown = [("Source face", rt.images.reference_tokens[stimulus.source_id])]
    if stimulus.target_id:
        shown.append(("Target expression", rt.images.reference_tokens[stimulus.target_id]))
    shown.append(("Edited image", rt.images.stimulus_tokens[stimulus.stimulus_id]))
    return [(caption, _image_url(token)) for caption, token in shown]


@bp.get("/trial")
def trial() -> BaseResponse | str:
    """The next unanswered trial (resumes after reload, closed tab or server restart)."""
    rt = runtime()
    participant, current, following = flow.current_trial(rt.db, session.get("pid"))
    if participant is None:
        raise RequestRejected(403, "no study session in this browser: open the study link to start")
    if participant.stage != "trials":
        return _to_stage(participant)
    if current is None:
        return redirect(url_for("participant.done"), code=303)
    n_practice = rt.study.practice_trials
    return render_template(
        "trial.html",
        study=rt.study,
        trial=current,
        images=_images(current),
        preload=[url for _, url in _images(following)] if following else [],
        practice=current.kind == "practice",
        first_main=current.trial_index == 1 and n_practice > 0,
        main_done=max(current.seq - n_practice, 0),
        main_total=rt.study.n_main_trials(),
        questions_html=rt.questions_html,
    )


@bp.post("/trial/<seq_text>")
def answer(seq_text: str) -> BaseResponse | tuple[Response, int]:
    """Store the answers of one trial, then show the next one.

    The request, its form and the session are looked up once: the busiest request of a study."""
    rt = runtime()
    seq = parse_seq(seq_text)
    pid = session.get("pid")
    if not pid:
        raise RequestRejected(403, "no study session in this browser: open the study link to start")
    req = request._get_current_object()  # type: ignore[attr-defined]
    form = req.form
    questions = rt.study.question_ids
    check_fields(form, {"csrf_token", "rt_ms", *(f"q_{q}" for q in questions)})
    ratings = parse_ratings(form, questions, rt.study.scale_points)
    rt_text = form.get("rt_ms", "")
    rt_ms = parse_int(rt_text, "rt_ms", 0, MAX_RT_MS) if rt_text else None
    stored = submit_answer(rt.db, rt.study, pid, seq, ratings, rt_ms)
    if _wants_json_answer(req):
        status = "duplicate" if stored.duplicate else "stored"
        return jsonify(status=status, trial=seq, ratings=stored.ratings, completed=stored.completed), 200
    return redirect(_trial_url(req.script_root), code=303)


def _wants_json_answer(req: Request) -> bool:
    """Whether the best of the ``Accept`` header is ``application/json`` (a script, not the page).

    ``best`` is one of the types as written in the header, so without the text
    ``application/json`` in it the answer is no and the header (a browser's is long) need not be parsed."""
    return "application/json" in req.headers.get("Accept", "") and req.accept_mimetypes.best == "application/json"


_trial_url_cache: tuple[str, str] | None = None


def _trial_url(script_root: str) -> str:
    """``url_for("participant.trial")``, where every answer redirects, kept for the last script root.

    The relative URL of a rule without arguments depends only on the script root (the app sets no
    URL defaults, host or subdomain matching); one entry keeps the cache bounded whatever
    ``SCRIPT_NAME`` a proxy sends."""
    global _trial_url_cache
    cached = _trial_url_cache
    if cached is None or cached[0] != script_root:
        cached = _trial_url_cache = (script_root, url_for("participant.trial"))
    return cached[1]


@bp.get("/done")
def done() -> BaseResponse | str:
    """Debrief with the completion code and, if configured, the platform's completion link."""
    rt = runtime()
    participant = _require_participant()
    if participant.stage != "done":
        return _to_stage(participant)
    return render_template("done.html", study=rt.study, link=rt.study.completion_link())


@bp.get("/alive")
def alive() -> Response:
    """Presence ping of an open study page (once a minute): an open page is not abandoned."""
    pid = session.get("pid")
    if pid:
        record_presence(runtime().db, pid, utcnow())
    response = Response(status=204)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/img/<token>.png")
def image(token: str) -> Response | tuple[Response, int]:
    """A stimulus or reference image by opaque token, re-encoded without metadata."""
    found = runtime().images.get(token)
    if found is None:
        return error_response(404, "image not found")
    data, etag = found
    response = Response(data, mimetype="image/png")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response.make_conditional(request)
