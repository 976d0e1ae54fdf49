"""Types shared by every Foresight custom resource: durations, times, conditions, modes, label selectors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, overload
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

_DURATION_RE = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNIT = "(ms|s|m|h|d|w)"
DURATION_PATTERN = rf"^([0-9]+{_UNIT})+$"
# At least one non-zero term ("0s" and "0h0m" are refused). RE2 (the API server's regex engine) has
# no look-ahead, hence the explicit non-zero term in the middle.
POSITIVE_DURATION_PATTERN = rf"^([0-9]+{_UNIT})*0*[1-9][0-9]*{_UNIT}([0-9]+{_UNIT})*$"
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

Duration = Annotated[str, StringConstraints(pattern=POSITIVE_DURATION_PATTERN, max_length=32)]
"""A Prometheus-style duration greater than zero, such as ``90s``, ``30m``, ``1h30m`` or ``14d``."""

BASE_URL_PATTERN = r"^https?://[^/?#@\s]+(/[^?#@\s]*)?$"
"""What the API server accepts as a base URL: http(s), a host, a path; no user info, query or fragment."""

BASE_URL_MESSAGE = "must be a base URL, http(s)://host[:port][/path], with no user info, query or fragment"


def check_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash if it is a base URL; raise ``ValueError`` otherwise.

    Request paths are joined onto a base URL, so a query or fragment in it would smuggle parameters
    (a second ``query=``) past every check of the spec, and user info would carry credentials.

    >>> check_base_url("http://prometheus.monitoring.svc:9090/")
    'http://prometheus.monitoring.svc:9090'
    >>> check_base_url("https://thanos.example/prometheus")
    'https://thanos.example/prometheus'
    >>> check_base_url("http://prom:9090/api/v1/query_range?query=up#")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 'http://prom:9090/api/v1/query_range?query=up#' must be a base URL, ..., query or fragment
    >>> check_base_url("http://user:pw@prom:9090")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 'http://user:pw@prom:9090' must be a base URL, ... with no user info, query or fragment
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValueError(f"{url!r} {BASE_URL_MESSAGE}") from exc
    if (
        not re.fullmatch(BASE_URL_PATTERN, url)
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
        or "#" in url
        or "?" in url
    ):
        raise ValueError(f"{url!r} {BASE_URL_MESSAGE}")
    return url.rstrip("/")


BaseUrl = Annotated[
    str,
    StringConstraints(max_length=2048),
    AfterValidator(check_base_url),
    Field(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"self.matches('{BASE_URL_PATTERN.replace(chr(92), chr(92) * 2)}')",
                    "message": BASE_URL_MESSAGE,
                }
            ]
        }
    ),
]
"""A Prometheus base URL; request paths are joined onto it."""

Mode = Literal["active", "dryRun"]
"""``active`` changes the cluster; ``dryRun`` computes and reports, and changes nothing."""


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus-style duration.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> parse_duration("14d").days
    14
    >>> parse_duration("soon")
    Traceback (most recent call last):
    ...
    ValueError: invalid duration 'soon': use e.g. 90s, 30m, 1h30m, 14d
    """
    if not re.fullmatch(DURATION_PATTERN, text or ""):
        raise ValueError(f"invalid duration {text!r}: use e.g. 90s, 30m, 1h30m, 14d")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_RE.findall(text))
    return timedelta(seconds=seconds)


@overload
def parse_time(text: str) -> datetime: ...
@overload
def parse_time(text: None) -> None: ...
@overload
def parse_time(text: str | None) -> datetime | None: ...
def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 time as Kubernetes writes it (``2026-01-05T12:00:07Z``, with or without fractions).

    Python 3.11's ``fromisoformat`` reads the ``Z`` itself. A time without a zone is taken as UTC, the
    zone the API writes; ``None`` stays ``None``, and text that is not a time raises ``ValueError``.

    >>> parse_time("2026-01-05T12:00:07.5Z")
    datetime.datetime(2026, 1, 5, 12, 0, 7, 500000, tzinfo=datetime.timezone.utc)
    >>> parse_time("2026-01-05T12:00:07") == parse_time("2026-01-05T14:00:07+02:00"), parse_time(None)
    (True, None)
    """
    if text is None:
        return None
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class Model(BaseModel):
    """Base of every API type: camelCase on the wire, snake_case in Python, unknown keys rejected."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="forbid",
        alias_generator=lambda name: re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name),
    )


class LabelSelectorRequirement(Model):
    """One ``matchExpressions`` entry of a Kubernetes label selector."""

    key: str = Field(min_length=1, max_length=317)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list, max_length=64)


class LabelSelector(Model):
    """A Kubernetes label selector (``matchLabels`` AND ``matchExpressions``); empty selects everything."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list, max_length=32)


class Condition(Model):
    """A ``metav1.Condition``: the state of one aspect of a resource, with the reason for it."""

    type: str = Field(max_length=316)
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(default="", max_length=1024)
    message: str = Field(default="", max_length=32768)
    last_transition_time: str | None = None
    observed_generation: int | None = None


class SecretKeyRef(Model):
    """A key of a Secret in the resource's own namespace."""

    name: str = Field(min_length=1, max_length=253)
    key: str = Field(default="token", min_length=1, max_length=253)


def set_condition(conditions: list[Condition], new: Condition) -> list[Condition]:
    """Replace the condition of ``new.type``, keeping its transition time when the status is unchanged.

    >>> a = Condition(type="Ready", status="True", reason="Applied", last_transition_time="t0")
    >>> b = Condition(type="Ready", status="True", reason="Applied", last_transition_time="t1")
    >>> set_condition([a], b)[0].last_transition_time
    't0'
    """
    out: list[Condition] = []
    for old in conditions:
        if old.type != new.type:
            out.append(old)
        elif old.status == new.status:
            new = new.model_copy(update={"last_transition_time": old.last_transition_time})
    return [*out, new]
