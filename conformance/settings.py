"""Resolve the run's settings: command line > environment > ini > default, with each source kept.

Everything a run needs is decided here, before any request is sent, so that a bad URL, an
unreadable file or a missing secret ends the run at once with one clear sentence (exit 4).
"""

from __future__ import annotations

import ipaddress
import json
import netrc
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from conformance.secrets import Secret

if TYPE_CHECKING:
    from conformance.handoff import Handoff

AuthScheme = Literal["basic", "bearer"]

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_CONCURRENCY = 8
DEFAULT_DEADLINE_S = 600.0
DEFAULT_SLOW_MS = 2000.0
MAX_CONCURRENCY = 64


class SettingsError(ValueError):
    """A usage error: the message is one sentence that says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Credentials:
    user: str | None
    secret: Secret
    scheme: AuthScheme
    secret_kind: Literal["password", "token"]
    origin: str  # where the secret came from, never the secret itself

    def describe(self) -> str:
        who = f"user {self.user}" if self.user else "no user"
        return f"{self.scheme} ({who}, {self.secret_kind} from {self.origin})"


@dataclass(frozen=True)
class Comparison:
    """An earlier run's JSON result (--jira-compare), for the "Since the last run" section."""

    path: Path
    previous: dict[str, Any]  # the parsed result, schema visor-jira-conformance/result/v1
    started: str | None  # its run.started
    tool_version: str | None  # its tool.version
    url: str  # its target.url, normalised


@dataclass(frozen=True)
class Settings:
    url: str
    credentials: Credentials | None
    profile: str | None = None
    projects: tuple[str, ...] = ()
    write_project: str | None = None
    ca_bundle: Path | None = None
    system_trust: bool = False
    # A TLS client certificate (PEM) and its key, for a Jira behind mutual TLS.
    client_cert: Path | None = None
    client_key: Path | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    concurrency: int = DEFAULT_CONCURRENCY
    deadline_s: float = DEFAULT_DEADLINE_S
    slow_ms: float = DEFAULT_SLOW_MS
    report_dir: Path = Path("reports")
    json_path: Path | None = None
    strict: bool = False
    demo_scenario: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    compare: Comparison | None = None
    seal_for: tuple[str, ...] = ()  # age recipients to seal the credentials for (--jira-seal-for)
    handoff: Handoff | None = None  # the hand-over the URL and credentials came from

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "jira"

    @property
    def user(self) -> str | None:
        return self.credentials.user if self.credentials else None

    @property
    def auth_scheme(self) -> str | None:
        return self.credentials.scheme if self.credentials else None


def describe_settings(settings: Settings) -> list[str]:
    """Each setting that shaped the run with where it came from (never the secret's value)."""
    values = {
        "url": settings.url,
        "user": settings.user or "none",
        "secret": settings.credentials.secret_kind if settings.credentials else "none",
        "auth": settings.auth_scheme or "none",
        "profile": settings.profile or "visor-default",
        "projects": ", ".join(settings.projects) or "from the profile",
        "write-project": settings.write_project or "none",
        "timeout": f"{settings.timeout_s:g} s",
        "concurrency": str(settings.concurrency),
        "deadline": f"{settings.deadline_s:g} s",
        "ca-bundle": str(settings.ca_bundle) if settings.ca_bundle else "none",
        "system-trust": "yes" if settings.system_trust else "no",
        "client-cert": str(settings.client_cert) if settings.client_cert else "none",
        "strict": "yes" if settings.strict else "no",
        "compare": (
            f"{settings.compare.path} (run of {settings.compare.started or 'unknown date'})"
            if settings.compare
            else "none"
        ),
    }
    if settings.seal_for:
        values["seal-for"] = ", ".join(settings.seal_for)
    if settings.handoff is not None:
        values["handoff"] = settings.handoff.describe()
    return [
        f"{name} = {value} (from {settings.sources.get(name, 'default')})"
        for name, value in values.items()
    ]


# Path segments that only Jira's pages (not its base URL) contain: what follows the context path.
_PAGE_SEGMENTS = frozenset(
    {"browse", "projects", "issues", "secure", "plugins", "rest", "servicedesk", "logout"}
)
# Jira Cloud's pages all live under /jira/<area>/... (e.g. /jira/software/projects/ABC/boards/1).
_CLOUD_AREAS = frozenset(
    {
        "software",
        "servicemanagement",
        "core",
        "your-work",
        "for-you",
        "dashboards",
        "filters",
        "people",
        "plans",
        "settings",
        "apps",
        "projects",
        "issues",
    }
)


CREDENTIALS_IN_URL = (
    "{source} must not carry credentials (user:password@host): remove them from the URL and give "
    "the bot's user in --jira-user or JIRA_USER and its secret in JIRA_PASSWORD or JIRA_TOKEN"
)


def validate_url(raw: str, source: str = "--jira-url") -> str:
    """Return the base URL without a trailing slash, or raise SettingsError saying what is wrong.

    ``source`` is how the user gave it (``--jira-url``, ``JIRA_URL``, ``the URL``), so the sentence
    names what they typed.
    """
    text = raw.strip()
    shown = repr(without_credentials(text))  # the URL as a sentence may echo it
    if not text:
        raise SettingsError(
            f"{source} is empty: give the address you open Jira at, e.g. https://jira.example.com"
        )
    authority = text.split("://", 1)[-1].split("/", 1)[0]
    if "@" in authority or ("://" not in text and "@" in text):
        raise SettingsError(CREDENTIALS_IN_URL.format(source=source))
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise SettingsError(f"{source} {shown} contains a control character: remove it")
    if re.search(r"\s", text):
        raise SettingsError(
            f"{source} {shown} contains white space: remove it (encode a space in a path as %20)"
        )
    if "://" not in text:
        raise SettingsError(
            f"{source} {shown} has no scheme: write it in full, e.g. https://{text.lstrip('/')}"
        )
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. "http://[::1": an unclosed IPv6 bracket
        raise SettingsError(
            f"{source} {shown} is not a valid URL (an IPv6 address must be written in "
            "full brackets, e.g. http://[::1]:8080)"
        ) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise SettingsError(
            f"{source} {shown} uses {parts.scheme}://, but Jira's REST API is only "
            "served over http:// or https://"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise SettingsError(CREDENTIALS_IN_URL.format(source=source))
    host = parts.hostname
    if not host:
        raise SettingsError(f"{source} {shown} has no host name")
    problem = host_problem(host)
    if problem:
        raise SettingsError(f"{source} {shown} has an invalid host name: {problem}")
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(
            f"{source} {shown} has an invalid port (a number from 1 to 65535)"
        ) from None
    if port == 0:
        raise SettingsError(
            f"{source} {shown} has port 0, which no server listens on: give Jira's port "
            "(1 to 65535) or leave it out"
        )
    scheme = parts.scheme.lower()
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    base_path = _base_of_page(path, host)
    if base_path is not None:
        raise SettingsError(
            f"{source} {shown} points at a Jira page, not at Jira's base URL: use "
            f"{scheme}://{netloc}{base_path} (the address up to the context path, if any)"
        )
    if parts.query:
        raise SettingsError(
            f"{source} {shown} has a query string ({parts.query!r}): give the base URL only, "
            "e.g. https://jira.example.com or https://example.com/jira"
        )
    if parts.fragment or text.endswith("#"):
        raise SettingsError(f"{source} {shown} has a fragment (#...): give the base URL only")
    return f"{scheme}://{netloc}{path}"


def _base_of_page(path: str, host: str) -> str | None:
    """The base path when ``path`` is a Jira page (``/jira/browse/KEY-1`` -> ``/jira``)."""
    segments = [s for s in path.split("/") if s]
    cloud = host.endswith((".atlassian.net", ".jira.com"))
    for index, segment in enumerate(segments):
        word = segment.lower()
        if word in _PAGE_SEGMENTS or word.endswith((".jsp", ".jspa")):
            return "/" + "/".join(segments[:index]) if index else ""
        if (
            word == "jira"
            and index + 1 < len(segments)
            and segments[index + 1].lower() in _CLOUD_AREAS
            and (cloud or segments[index + 1].lower() not in ("projects", "issues"))
        ):
            return "/" + "/".join(segments[:index]) if index else ""
    if cloud and segments:
        return ""  # Jira Cloud has no context path
    return None


def host_problem(host: str) -> str | None:
    """Why ``host`` (as urlsplit gives it, IPv6 without brackets) cannot be a host, or None."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"{host!r} is not an IPv6 address"
        return None
    name = host[:-1] if host.endswith(".") else host
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return f"{host!r} is not a valid international domain name"
    if len(name) > 253:
        return "it is longer than 253 characters"
    for label in name.split("."):
        if not label:
            return "it has an empty part (two dots in a row, or a leading dot)"
        if len(label) > 63:
            return f"the part {label[:20]!r}... is longer than 63 characters"
        if not re.fullmatch(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?", label):
            return f"the part {label!r} may hold only letters, digits and inner hyphens"
    return None


def without_credentials(text: str) -> str:
    """``text`` with anything that may be user info (``user:password@``) masked, with or
    without a scheme, whatever characters the password holds (a space, a ``/``): everything up
    to the last ``@`` after the scheme. An ``@`` in a path costs a little of the echo, never
    the password."""
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text)
    start = scheme.end() if scheme else 0
    at = text.rfind("@")
    return text if at < start else text[:start] + "********" + text[at:]


# -- files the user names ------------------------------------------------------------------------

MAX_SECRET_FILE_BYTES = 64 * 1024
MAX_NETRC_BYTES = 1024 * 1024
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def user_path(raw: str | os.PathLike[str], label: str) -> Path:
    """A path the user gave, ``~`` expanded; a ``~`` for a user without a home directory
    (HOME unset and no password-database entry, as in a container run with ``--user``) is a
    SettingsError naming the option, not a RuntimeError."""
    path = Path(raw)
    try:
        return path.expanduser()
    except RuntimeError:
        raise SettingsError(
            f"{label} {str(raw)!r} starts with ~, but this user has no home directory (HOME is "
            "not set and the user has no entry in the password database, as in a container run "
            "with --user): give the full path"
        ) from None


def home_netrc(env: dict[str, str]) -> Path | None:
    """The .netrc to read: NETRC, else ~/.netrc; None for a user without a home directory."""
    if env.get("NETRC"):
        return Path(env["NETRC"])
    try:
        return Path.home() / ".netrc"
    except RuntimeError:
        return None


def file_kind(mode: int) -> str:
    """'a folder', 'a named pipe', ... for a non-regular file's mode."""
    return next((name for test, name in _KINDS if test(mode)), "not an ordinary file")


def read_regular_file(path: Path, label: str, max_bytes: int, *, what: str = "file") -> bytes:
    """The bytes of an ordinary file of at most ``max_bytes``; anything else is a SettingsError.

    Opened with O_NONBLOCK, so a named pipe cannot block the run, and checked with fstat on the
    open descriptor, so /dev/zero or a pipe is refused before a byte is read.
    """
    shown = f"{label} {str(path)!r}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SettingsError(
            f"{shown} cannot be read ({exc.strerror or exc}): check the path and that this user "
            "may read it"
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SettingsError(
                f"{shown} is {file_kind(info.st_mode)}, not an ordinary file: give the path of "
                f"the {what} itself"
            )
        limit = (
            f"{max_bytes // 1024} KiB"
            if max_bytes < 1024 * 1024
            else (f"{max_bytes // (1024 * 1024)} MiB")
        )
        if info.st_size > max_bytes:
            raise SettingsError(f"{shown} is larger than {limit}, too large for a {what}")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            try:
                chunk = os.read(fd, min(65536, max_bytes + 1 - size))
            except BlockingIOError:  # pragma: no cover - regular files never block
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise SettingsError(f"{shown} is larger than {limit}, too large for a {what}")
        return b"".join(chunks)
    except OSError as exc:
        raise SettingsError(f"{shown} cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


_LONG_NUMBER = re.compile(rf"\d{{{sys.get_int_max_str_digits() + 1},}}")


def long_number(text: str) -> tuple[int, int] | None:
    """(line, digits) of the first integer longer than Python converts (json and YAML raise
    ValueError on it: sys.get_int_max_str_digits), or None."""
    match = _LONG_NUMBER.search(text)
    if match is None:
        return None
    return text.count("\n", 0, match.start()) + 1, len(match.group())


def long_number_words(digits: int) -> str:
    return f"a number of {digits:,} digits, longer than any value it can hold"


def decode_text(data: bytes, shown: str) -> str:
    """UTF-8 text without a byte-order mark, or a SettingsError naming the file."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(
            f"{shown} is not UTF-8 text (it may be saved as Latin-1 or UTF-16): save it as "
            "UTF-8 and run again"
        ) from None


# -- secrets -------------------------------------------------------------------------------------

_FORBIDDEN_IN_SECRET = (
    ("\r", "a carriage return (CR)"),
    ("\n", "a line break (LF)"),
    ("\0", "a NUL character"),
)


def clean_secret(value: str, origin: str, *, what: str = "secret") -> str:
    """``value`` without ONE trailing newline; CR, LF or NUL inside, or a character Latin-1
    lacks (basic auth as requests sends it, and any HTTP header, is Latin-1), is a SettingsError
    that names where the value came from and never shows it."""
    if value.endswith("\r\n"):
        value = value[:-2]
    elif value.endswith("\n"):
        value = value[:-1]
    for char, name in _FORBIDDEN_IN_SECRET:
        if char in value:
            raise SettingsError(
                f"The {what} from {origin} contains {name}: a {what} is one line of text, so "
                f"keep only the {what} itself (its value is not shown here)"
            )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise SettingsError(
            f"The {what} from {origin} contains a character outside Latin-1 (such as €), which "
            f"an HTTP Authorization header cannot carry: use a {what} without such characters "
            "(its value is not shown here)"
        ) from None
    return value


def _read_secret_file(secret_file: str) -> str:
    path = user_path(secret_file, "--jira-secret-file")
    shown = f"--jira-secret-file {str(path)!r}"
    data = read_regular_file(
        path, "--jira-secret-file", MAX_SECRET_FILE_BYTES, what="file holding the secret"
    )
    text = decode_text(data, shown)
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    text = text.strip(" \t")
    if not text:
        raise SettingsError(f"{shown} is empty: put the bot's password or token in it")
    return clean_secret(text, shown)


PROMPT_MARKER = "VISOR_JIRA_CREDENTIALS_FROM"  # "prompt": set by visor-jira-check after asking


def resolve_credentials(
    *,
    url: str,
    user: str | None,
    auth: str,
    env: dict[str, str],
    secret_file: str | None,
    user_origin: str = "JIRA_USER",
) -> Credentials | None:
    """Find the secret (never from the command line) and pick the auth scheme."""
    if auth not in ("auto", "basic", "bearer"):
        raise SettingsError(f"--jira-auth {auth!r} is not one of auto, basic, bearer")
    secret_value: str | None = None
    kind: Literal["password", "token"] = "password"
    origin = ""
    if user is not None:
        user = clean_secret(user, user_origin, what="user name").strip() or None
    if secret_file:
        secret_value = _read_secret_file(secret_file)
        kind = "token" if not user else "password"
        origin = "--jira-secret-file"
    elif env.get("JIRA_TOKEN"):
        secret_value, kind, origin = (
            clean_secret(env["JIRA_TOKEN"], "JIRA_TOKEN"),
            "token",
            "JIRA_TOKEN",
        )
    elif env.get("JIRA_PASSWORD"):
        secret_value = clean_secret(env["JIRA_PASSWORD"], "JIRA_PASSWORD")
        kind, origin = "password", "JIRA_PASSWORD"
        if not user and auth == "auto":
            unset = "is set but empty" if "JIRA_USER" in env else "is not set"
            raise SettingsError(
                f"JIRA_PASSWORD is set but JIRA_USER {unset}: a password needs the bot's user "
                "name, so set JIRA_USER (or --jira-user), or put a personal access token in "
                "JIRA_TOKEN instead"
            )
    else:
        host = urlsplit(url).hostname or ""
        entry = _netrc_entry(host, env)
        if entry is not None:
            login, secret_value = entry
            user = user or login or None
            kind, origin = "password", ".netrc"

    if secret_value is None:
        return None
    if env.get(PROMPT_MARKER) == "prompt" and origin in ("JIRA_PASSWORD", "JIRA_TOKEN"):
        origin = "prompt"  # visor-jira-check asked for them and passed them on in the environment
    scheme: AuthScheme = ("basic" if user else "bearer") if auth == "auto" else auth  # type: ignore[assignment]
    if scheme == "basic" and not user:
        raise SettingsError(
            "--jira-auth basic needs the bot's user name: set --jira-user or JIRA_USER "
            "(on Cloud, the bot's e-mail address)"
        )
    if scheme == "bearer":
        kind = "token"
    return Credentials(
        user=user, secret=Secret(secret_value), scheme=scheme, secret_kind=kind, origin=origin
    )


def _netrc_entry(host: str, env: dict[str, str]) -> tuple[str, str] | None:
    path = home_netrc(env)
    if path is None or not path.is_file():
        return None
    shown = f"the .netrc file {str(path)!r}"
    decode_text(read_regular_file(path, "the .netrc file", MAX_NETRC_BYTES), shown)
    try:
        found = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError, UnicodeError) as exc:
        raise SettingsError(
            f"{path} cannot be read as a .netrc file ({exc}): fix or remove it"
        ) from None
    if not found or not found[2]:
        return None
    login = clean_secret(found[0] or "", shown, what="user name") if found[0] else ""
    return login, clean_secret(found[2], shown)


# -- an earlier run to compare with --------------------------------------------------------------

RESULT_SCHEMA = "visor-jira-conformance/result/v1"
MAX_COMPARE_BYTES = 64 * 1024 * 1024


def load_comparison(raw: str, url: str, label: str = "--jira-compare") -> Comparison:
    """The earlier result named by --jira-compare, checked to be ours and of the same Jira."""
    path = user_path(raw, label)
    shown = f"{label} {str(path)!r}"
    data = read_regular_file(path, label, MAX_COMPARE_BYTES, what="JSON result of an earlier run")
    text = decode_text(data, shown)
    try:
        previous = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"{shown} is not valid JSON (line {exc.lineno}): give the .json report of an "
            "earlier run"
        ) from None
    except RecursionError:
        raise SettingsError(f"{shown} is nested too deeply to be a result of this tool") from None
    except ValueError:  # an integer of more digits than Python converts
        found = long_number(text)
        where = f"line {found[0]} holds {long_number_words(found[1])}" if found else "a value"
        raise SettingsError(
            f"{shown} is not a result of this tool ({where}): give the .json report of an "
            "earlier run"
        ) from None
    if not isinstance(previous, dict) or previous.get("schema") != RESULT_SCHEMA:
        raise SettingsError(
            f'{shown} is not a result of this tool (its "schema" is not {RESULT_SCHEMA}): give '
            "the .json report of an earlier run"
        )
    target = previous.get("target")
    earlier = target.get("url") if isinstance(target, dict) else None
    if not isinstance(earlier, str):
        raise SettingsError(f"{shown} names no Jira URL (target.url): it cannot be compared")
    try:
        earlier_url = validate_url(earlier, "target.url")
    except SettingsError:
        earlier_url = earlier.strip().rstrip("/")
    if earlier_url != url:
        raise SettingsError(
            f"{shown} is a run against {earlier_url}, not {url}: compare runs of the same Jira, "
            "or leave out --jira-compare"
        )
    run = previous.get("run")
    tool = previous.get("tool")
    started = run.get("started") if isinstance(run, dict) else None
    version = tool.get("version") if isinstance(tool, dict) else None
    return Comparison(
        path=path,
        previous=previous,
        started=started if isinstance(started, str) else None,
        tool_version=version if isinstance(version, str) else None,
        url=earlier_url,
    )


# -- the environment requests reads --------------------------------------------------------------

_PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


def check_environment(url: str, env: dict[str, str], *, ca_bundle_given: bool) -> None:
    """Refuse, before any request, a proxy variable or CA bundle variable requests would choke on.

    A garbage HTTPS_PROXY would otherwise surface as "host name does not resolve", and a
    REQUESTS_CA_BUNDLE naming a missing file as an OSError on the first https request.
    """
    scheme = urlsplit(url).scheme
    for name in (f"{scheme}_proxy", "all_proxy"):
        for variable in (name, name.upper()):  # lower case wins in urllib, so check both
            value = env.get(variable, "").strip()
            if value:
                _check_proxy(variable, value)
    if scheme != "https" or ca_bundle_given:
        return  # an explicit --jira-ca-bundle overrides these variables
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = env.get(variable, "")
        if value and not os.path.exists(value):
            raise SettingsError(
                f"{variable} names {value!r}, which does not exist, and requests would use it to "
                f"verify Jira's certificate: fix or unset {variable}, or give --jira-ca-bundle"
            )
        if value:
            break  # requests uses the first one that is set


def _check_proxy(variable: str, value: str) -> None:
    full = value if "://" in value else "http://" + value  # what requests does
    try:
        parts = urlsplit(full)
        port = parts.port
    except ValueError:
        parts, port = None, 0
    host = parts.hostname if parts is not None else None
    if (
        parts is None
        or parts.scheme.lower() not in _PROXY_SCHEMES
        or not host
        or host_problem(host)
        or port == 0
    ):
        shown = "" if "@" in value else f" {value!r}"  # a proxy password is never echoed
        raise SettingsError(
            f"{variable}{shown} is not a proxy URL with a host name: write it as "
            f"http://proxy.example.com:3128 or unset {variable}"
        )


MISSING_CREDENTIALS = (
    "no credentials for the bot (AUTH_NO_CREDENTIALS): set JIRA_USER and JIRA_PASSWORD (or JIRA_TOKEN "
    "for a personal access token, or put the secret in a file named by --jira-secret-file, or in "
    "~/.netrc); secrets are never accepted on the command line"
)


def env_snapshot() -> dict[str, str]:
    return dict(os.environ)
