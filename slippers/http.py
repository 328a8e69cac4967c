"""Cross-cutting request/response concerns in two cheap hooks (no middleware layers).

Before a request: start the timer, take or make the request id, bound the query string and
the JSON body size, and strip the content-coding suffix flask-compress adds to ETags from
`If-None-Match` (so a view's own ETag comparison still answers 304). After it: timing,
request id and security headers, and one structured log line per request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, current_app, g, has_request_context, request
from flask.sessions import SessionInterface
from flask.wrappers import Response
from werkzeug.exceptions import RequestEntityTooLarge

from slippers.errors import AppError

log = logging.getLogger("slippers.request")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_CODING_SUFFIX_RE = re.compile(r':(gzip|br|zstd|deflate)"')
DOCS_PATHS = ("/docs", "/redoc")
_PER_REQUEST_G = ("auth_user", "auth_session", "etag_coding")

JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Swagger UI needs its inline init script; ReDoc needs inline styles and blob: workers.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# ReDoc's sidebar footer always loads its logo from Redocly's CDN (it hides it if that fails).
REDOC_CSP = DOCS_CSP.replace(
    "img-src 'self' data: blob:", "img-src 'self' data: blob: https://cdn.redoc.ly"
)


class QueryStringTooLong(AppError):
    status_code = 414


def client_ip() -> str:
    """The client address; ProxyFix (TRUSTED_PROXIES) has already rewritten it."""
    return request.remote_addr or "unknown"


def current_request_id() -> str:
    """This request's id (also in every log line and the X-Request-ID header); "-" outside one.

    Hand it to outgoing calls (the OCTO client takes a `request_id`) so one id follows a
    payment through our logs and the other side's.
    """
    if not has_request_context():
        return "-"
    return g.get("request_id") or "-"


def _start_request() -> None:
    # `g` belongs to the app context, which is shared by every request made while one is
    # already pushed (tests, scripts): start each request without the last one's user.
    for name in _PER_REQUEST_G:
        g.pop(name, None)
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
    config = current_app.config
    if len(request.query_string) > config["MAX_QUERY_STRING_BYTES"]:
        raise QueryStringTooLong(
            f"Query string is longer than {config['MAX_QUERY_STRING_BYTES']} bytes"
        )
    is_upload = request.mimetype == "multipart/form-data"
    if not is_upload:
        # Uploads keep the app-wide MAX_CONTENT_LENGTH; everything else is JSON-sized.
        request.max_content_length = config["MAX_JSON_KB"] * 1024
    if (request.content_length or 0) > (request.max_content_length or 0):
        raise RequestEntityTooLarge()
    if not is_upload and request.headers.get("Transfer-Encoding", "").lower() == "chunked":
        _read_chunked_body(request.max_content_length)
    _normalise_if_none_match()


def _read_chunked_body(limit: int) -> None:
    """A chunked body has no Content-Length to judge up front, and Werkzeug silently cuts a
    stream off at the limit (the view would then see broken JSON, a 400). Read it now, one
    byte past the limit, and refuse it whole; the view parses the cached copy."""
    request.max_content_length = limit + 1
    if len(request.get_data(cache=True)) > limit:
        raise RequestEntityTooLarge()
    request.max_content_length = limit


def _normalise_if_none_match() -> None:
    raw = request.environ.get("HTTP_IF_NONE_MATCH")
    if raw and ":" in raw:
        found = _CODING_SUFFIX_RE.search(raw)
        if found:
            g.etag_coding = found.group(1)
            request.environ["HTTP_IF_NONE_MATCH"] = _CODING_SUFFIX_RE.sub('"', raw)


def _finish_response(response: Response) -> Response:
    started = getattr(g, "request_started", None)
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    headers = response.headers
    headers["Server-Timing"] = f"app;dur={duration_ms:.2f}"
    request_id = g.get("request_id") or uuid.uuid4().hex
    headers["X-Request-ID"] = request_id
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["Content-Security-Policy"] = _csp_for(request.path)
    if _is_authenticated_request():
        headers["Cache-Control"] = "no-store"
    if current_app.config["COOKIE_SECURE"]:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    _tidy_retry_after(response)
    _merge_vary(response, cors=bool(current_app.config["ALLOWED_ORIGINS"]))
    if response.status_code == 304 and g.get("etag_coding"):
        _restore_etag_coding(response, g.etag_coding)
    if log.isEnabledFor(logging.INFO):
        _log_request(response.status_code, duration_ms, request_id)
    return response


def _csp_for(path: str) -> str:
    if path.startswith("/redoc"):
        return REDOC_CSP
    return DOCS_CSP if path.startswith(DOCS_PATHS) else JSON_CSP


def _tidy_retry_after(response: Response) -> None:
    """flask-limiter puts Retry-After on every limited response. It only means something on
    a 429 or 503 (RFC 6585, RFC 9110), where it must be at least 1 second."""
    retry_after = response.headers.get("Retry-After")
    if retry_after is None:
        return
    if response.status_code not in (429, 503):
        del response.headers["Retry-After"]
    elif retry_after.isdigit() and int(retry_after) < 1:
        response.headers["Retry-After"] = "1"


def _merge_vary(response: Response, cors: bool) -> None:
    """One Vary header: always Accept-Encoding (any answer may come compressed or not), and
    Origin when CORS is on (flask-cors only says so when several origins are configured, so
    a shared cache could mix them up)."""
    values = response.headers.getlist("Vary")
    if not cors and (values == ["Accept-Encoding"] or not values):
        response.headers["Vary"] = "Accept-Encoding"
        return
    names: dict[str, str] = {"accept-encoding": "Accept-Encoding"}
    for value in values:
        for name in value.split(","):
            if name.strip():
                names.setdefault(name.strip().lower(), name.strip())
    if cors:
        names.setdefault("origin", "Origin")
    response.headers["Vary"] = ", ".join(names.values())


def _restore_etag_coding(response: Response, coding: str) -> None:
    """A 304 carries the validator the client holds: the compressed variant's ETag."""
    etag, weak = response.get_etag()
    if etag and not weak and not etag.endswith(f":{coding}"):
        response.set_etag(f"{etag}:{coding}")


def _is_authenticated_request() -> bool:
    return bool(request.headers.get("Authorization") or request.cookies.get("access_token_cookie"))


def _log_request(status: int, duration_ms: float, request_id: str) -> None:
    user = g.get("auth_user")
    log.info(
        "%s %s %s",
        request.method,
        request.path,
        status,
        extra={
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "request_id": request_id,
            "user_id": getattr(user, "id", None),
            "remote_ip": client_ip(),
        },
    )


CORS_ALLOW_HEADERS = [
    "Content-Type",
    "Authorization",
    "X-CSRF-TOKEN",
    "Idempotency-Key",
    "X-Request-ID",
]
CORS_EXPOSE_HEADERS = [
    "X-Request-ID",
    "Retry-After",
    "ETag",
    "Idempotency-Replayed",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def init_cors(app: Flask) -> None:
    """CORS for the exact ALLOWED_ORIGINS (credentials allowed); no header for anyone else."""
    from flask_cors import CORS

    origins = [origin.rstrip("/") for origin in app.config["ALLOWED_ORIGINS"]]
    if not origins:
        return
    bad = [origin for origin in origins if not _ORIGIN_RE.match(origin)]
    if bad:
        raise RuntimeError(
            f"ALLOWED_ORIGINS must be exact origins like https://shop.example.uz; got {bad}"
        )
    CORS(
        app,
        origins=origins,
        supports_credentials=True,
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        max_age=600,
    )


def init_compression(app: Flask) -> None:
    """flask-compress for bodies of COMPRESS_MIN_BYTES and more. Small answers (most of the
    API) skip it altogether (`_merge_vary` still says `Vary: Accept-Encoding`). One fix: when
    it re-wraps a streamed body (static files), the original iterable, an open file, must
    still be closed when the response is."""
    from flask_compress import Compress

    app.config["COMPRESS_REGISTER"] = False
    compress = Compress()
    compress.init_app(app)
    min_size = app.config["COMPRESS_MIN_SIZE"]

    def compress_response(response: Response) -> Response:
        streamed = response.is_streamed
        if not streamed and (response.calculate_content_length() or 0) < min_size:
            return response
        original = response.response if streamed else None
        response = compress.after_request(response)
        if original is not None and response.response is not original:
            close = getattr(original, "close", None)
            if close is not None:
                response.call_on_close(close)
        return response

    app.after_request(compress_response)


class NoSessions(SessionInterface):
    """The API keeps no Flask session (logins are JWTs in cookies or headers): skip the
    signed-cookie session's serializer, built on every request otherwise."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response) -> None:
        return None


def init_http(app: Flask) -> None:
    """Register the cheap per-request hooks (no middleware layers)."""
    app.session_interface = NoSessions()
    app.before_request(_start_request)
    app.after_request(_finish_response)
