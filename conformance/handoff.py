"""Step 2 of the customer guide done by the tool: the bot's credentials sealed for Visor support.

The guide asks the customer to hand Visor support the instance URL, the software version and the
bot's credentials "via a secure means". A customer's run already holds all three once Jira has
accepted the bot's login, so:

- **Seal** (customer side): :func:`seal_after_run`, called once at the end of a run, writes one
  file encrypted in the age format to X25519 recipients (``--jira-seal-for``, the profile's
  ``handoff.recipients``), beside the reports, only if Jira accepted the bot's login in that run.
- **Open** (support side): :func:`open_handoff` decrypts such a file in memory with support's
  identity and gives the settings the URL and the credentials, as if typed by hand.
- **Keys**: :func:`new_identity` writes support's identity (mode 0600, never over a file).

age (pyrage, which binds rage) authenticates every byte, so a changed or cut file fails to open
rather than opening wrong. Every problem is a :class:`SettingsError`: one sentence, exit 4, before
anything is sent. No sentence ever quotes the decrypted content or a key. The plaintext exists
only in memory: encrypted before anything is written, decrypted from bytes read whole.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import platform
import re
import socket
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pyrage
from pyrage import x25519

from conformance import __version__
from conformance.report.files import atomic_write_bytes
from conformance.secrets import Secret
from conformance.settings import (
    AuthScheme,
    Credentials,
    SettingsError,
    clean_secret,
    decode_text,
    read_regular_file,
    validate_url,
)

if TYPE_CHECKING:
    from conformance.profile import Profile
    from conformance.settings import Settings

SCHEMA_ID = "visor-jira-conformance/handoff/v1"
SUFFIX = ".visor-handoff.age"
IDENTITY_ENV = "VISOR_AGE_IDENTITY"
# The source of the settings a hand-over gave besides the URL, whose source names the file.
FROM_HANDOFF = "handoff"
DEFAULT_MAX_AGE_DAYS = 30.0
CLOCK_SKEW = timedelta(days=1)  # a hand-over "sealed" later than this from now is refused
MAX_HANDOFF_BYTES = 64 * 1024 * 1024  # the run's JSON result is inside: large runs, large files
MAX_IDENTITY_BYTES = 64 * 1024
AGE_MAGIC = b"age-encryption.org/v1\n"
AGE_ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"
SECRET_KEY_PREFIX = "AGE-SECRET-KEY-1"
RECIPIENT_PATTERN = re.compile(r"age1[02-9ac-hj-np-z]{58}")  # bech32 of a 32-byte X25519 key
# The login rows that prove Jira accepted the bot's login and answered as the bot.
LOGIN_CHECKS = ("auth.authenticates", "auth.identity")
ACCEPTED_OUTCOMES = ("pass", "warn")


# -- recipients and identities -------------------------------------------------------------------


RECIPIENT_HINT = (
    "a recipient is the line 'age1' followed by 58 letters and digits that 'visor-jira-check "
    "--new-identity PATH' (or age-keygen) printed"
)


def recipient_problem(text: str) -> str | None:
    """Why ``text`` (canonical, lower case) is not an X25519 recipient, or None."""
    if not RECIPIENT_PATTERN.fullmatch(text):
        return "it is not an age recipient"
    try:
        x25519.Recipient.from_str(text)
    except pyrage.RecipientError:
        return "its checksum is wrong (a character was changed or lost when copying)"
    return None


def parse_recipient(text: str, label: str) -> str:
    """The recipient in its canonical (lower-case) form, or a SettingsError naming ``label``."""
    value = text.strip()
    canonical = value.lower() if value.isupper() else value
    problem = recipient_problem(canonical)
    if problem is not None:
        raise SettingsError(
            f"{label} {value[:80]!r} cannot be sealed for: {problem}; {RECIPIENT_HINT}"
        )
    return canonical


def short_fingerprint(recipient: str) -> str:
    """The recipient shortened for people: its head and tail, e.g. ``age1cxdp...446lc8``."""
    return f"{recipient[:8]}...{recipient[-6:]}"


def load_identities(raw_path: str, label: str) -> list[x25519.Identity]:
    """The X25519 identities of an identity file (the format age-keygen writes).

    The file must be readable by its owner only: an identity others can read opens every
    hand-over sealed for it.
    """
    path = Path(raw_path).expanduser()
    shown = f"{label} {str(path)!r}"
    data = read_regular_file(path, label, MAX_IDENTITY_BYTES, what="age identity file")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise SettingsError(
            f"{shown} may be read or changed by other users (mode {mode:04o}), so it is refused: "
            f"make it private with 'chmod 600 {path}', and make a new identity if others may "
            "have copied it"
        )
    if data.lstrip().startswith((AGE_MAGIC, AGE_ARMOR)):
        raise SettingsError(
            f"{shown} is itself encrypted (an identity protected by a passphrase), which this "
            "tool cannot use: decrypt it with 'age -d' into a private file (chmod 600) and give "
            "that"
        )
    identities: list[x25519.Identity] = []
    for number, line in enumerate(decode_text(data, shown).splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if not entry.upper().startswith(SECRET_KEY_PREFIX):
            kind = "a plugin identity (hardware key)" if entry.startswith("AGE-PLUGIN-") else ""
            raise SettingsError(
                f"line {number} of {shown} is not an age identity{' but ' + kind if kind else ''}"
                f" (one of the form {SECRET_KEY_PREFIX}...): give the file that "
                "'visor-jira-check --new-identity' or age-keygen wrote"
            )
        try:
            identities.append(x25519.Identity.from_str(entry.upper()))
        except pyrage.IdentityError:
            raise SettingsError(
                f"line {number} of {shown} is a damaged age identity (its checksum is wrong): "
                "restore the file from its backup"
            ) from None
    if not identities:
        raise SettingsError(
            f"{shown} holds no age identity (a line {SECRET_KEY_PREFIX}...): give the file that "
            "'visor-jira-check --new-identity' or age-keygen wrote"
        )
    return identities


def new_identity(raw_path: str, now: datetime | None = None) -> str:
    """Write a new identity to ``raw_path`` (mode 0600, never over an existing file); return its
    recipient. A failure part way leaves no file behind."""
    path = Path(raw_path).expanduser()
    shown = f"--new-identity {str(path)!r}"
    if os.path.lexists(path):
        raise SettingsError(
            f"{shown} exists, and an identity is never written over another file (it may be the "
            "key to hand-overs already sealed): give a new path"
        )
    if not path.parent.is_dir():
        raise SettingsError(
            f"{shown} is in the folder {str(path.parent)!r}, which does not exist: create it "
            "first (mkdir -m 700) or give another path"
        )
    identity = x25519.Identity.generate()
    recipient = str(identity.to_public())
    created = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    text = f"# created: {created}\n# public key: {recipient}\n{identity}\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        handle = os.open(path, flags, 0o600)
    except FileExistsError:
        raise SettingsError(f"{shown} exists: give a new path") from None
    except OSError as exc:
        raise SettingsError(f"{shown} cannot be created ({exc.strerror or exc})") from None
    try:
        try:
            os.fchmod(handle, 0o600)  # whatever the umask
            os.write(handle, text.encode("ascii"))
            os.fsync(handle)
        finally:
            os.close(handle)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise SettingsError(f"{shown} cannot be written ({exc.strerror or exc})") from None
    return recipient


# -- sealing (customer side) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    """What the end of a run did about the hand-over: sealed to ``path``, or why not."""

    recipients: tuple[str, ...]
    path: Path | None = None  # set when the file was written
    reason: str = ""  # why nothing was sealed
    credentials: str = "the bot's user name and password"  # what the file holds, in words

    @property
    def sealed(self) -> bool:
        return self.path is not None

    @property
    def for_whom(self) -> str:
        prints = ", ".join(short_fingerprint(r) for r in self.recipients)
        return f"recipient{'s' if len(self.recipients) > 1 else ''} {prints}"

    def headline(self) -> str:
        if self.path is None:
            return f"Nothing was sealed for Visor support ({self.for_whom}): {self.reason}."
        return f"Sealed for Visor support ({self.for_whom}):"

    def advice(self) -> str:
        """What to do with the file: the same words in the terminal and the HTML report."""
        if self.path is None:
            return ""
        return (
            f"It holds the Jira URL, its version, {self.credentials} and this run's result, "
            "encrypted so that only the holder of that recipient's identity "
            "can open it. Give the file to Visor support (it is safe to attach to your ticket), "
            "then delete it from this machine."
        )


def recipients_of(settings: Settings, profile: Profile) -> tuple[str, ...]:
    """The run's recipients: the command line's, then the profile's, each once."""
    return tuple(dict.fromkeys((*settings.seal_for, *profile.handoff_recipients)))


def refusal(login: str, result: Mapping[str, Any], settings: Settings) -> str | None:
    """Why this run must not seal its credentials, or None: only a login Jira accepted in this
    run, answered as the bot, is worth handing over."""
    if settings.handoff is not None:
        return "this run's credentials came from a hand-over, so they are not sealed again"
    if login == "rejected":
        return (
            "Jira refused the bot's login in this run, and credentials Jira rejects would not "
            "help them; fix the login (see the fixes above), then run again"
        )
    if login != "proven":
        return (
            "the run never had Jira's answer to the bot's login (Jira was not reached, or the "
            "run stopped first); run again once the checks reach Jira"
        )
    outcomes = {
        row.get("id"): row.get("outcome")
        for row in result.get("results", [])
        if isinstance(row, Mapping) and row.get("project") is None
    }
    for check in LOGIN_CHECKS:
        outcome = outcomes.get(check)
        if outcome not in ACCEPTED_OUTCOMES:
            what = "did not run" if outcome is None else f"ended {outcome}"
            return (
                f"the check that Jira accepts the bot and answers as the bot ({check}) {what}, "
                "so the run did not prove these credentials work; fix it, then run again"
            )
    return None


def seal_after_run(
    *,
    login: str,
    result: Mapping[str, Any],
    settings: Settings,
    profile: Profile,
    path: Path,
    now: datetime | None = None,
) -> Sealed | None:
    """The whole sealing decision and the writing, called once when the run ends.

    ``login`` is the HTTP layer's login state ("proven", "rejected" or "unknown"), ``result``
    the run's JSON result as written (scrubbed), ``path`` the file beside the reports. None when
    no recipient was named; otherwise what was done, for the terminal and the HTML report.
    """
    recipients = recipients_of(settings, profile)
    creds = settings.credentials
    if not recipients:
        return None
    if creds is None:
        return Sealed(recipients, reason="the run had no credentials to seal")
    words = f"the bot's user name and {creds.secret_kind}" if creds.user else "the bot's token"
    why = refusal(login, result, settings)
    if why is not None:
        return Sealed(recipients, reason=why, credentials=words)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    document = {
        "schema": SCHEMA_ID,
        "sealed": {**_where_sealed(), "at": moment.isoformat(timespec="seconds")},
        "target": {"url": settings.url, **_target_facts(result)},
        "bot": {
            "user": creds.user,
            "authScheme": creds.scheme,
            "secretKind": creds.secret_kind,
            "secret": creds.secret.reveal(),
        },
        "profile": {"name": profile.name, "source": profile.source, "sha256": profile.sha256},
        "result": dict(result),
    }
    keys = [x25519.Recipient.from_str(r) for r in recipients]
    sealed = pyrage.encrypt(json.dumps(document, ensure_ascii=False).encode("utf-8"), keys)
    del document  # the one structure holding the secret next to the rest
    try:
        atomic_write_bytes(path, sealed, mode=0o600)
    except OSError as exc:
        return Sealed(
            recipients,
            reason=f"the file {path} could not be written ({exc.strerror or exc})",
            credentials=words,
        )
    return Sealed(recipients, path=path, credentials=words)


def _where_sealed() -> dict[str, Any]:
    """From where the hand-over was sealed: the machine, the account, the tool."""
    try:
        user: str | None = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a container)
        user = None
    return {
        "host": socket.gethostname()[:255] or None,
        "user": user[:255] if user else None,
        "tool": {"name": "visor-jira-conformance", "version": __version__},
        "platform": f"{platform.system()} {platform.release()}"[:255],
    }


def _target_facts(result: Mapping[str, Any]) -> dict[str, Any]:
    target = result.get("target")
    facts = target if isinstance(target, Mapping) else {}
    return {key: facts.get(key) for key in ("baseUrl", "deploymentType", "version", "buildNumber")}


# -- opening (support side) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Handoff:
    """An opened hand-over, without its secret (that is in the settings' credentials)."""

    path: Path
    sealed_at: datetime
    sealed_by: str  # "alice on laptop-7"
    profile_name: str
    profile_source: str
    profile_sha256: str
    customer_verdict: str | None

    @property
    def source(self) -> str:
        """Where the URL came from, for the report header (the other settings say "handoff")."""
        return (
            f"handoff {self.path}, sealed {self.sealed_at:%Y-%m-%d %H:%M} UTC by {self.sealed_by}"
        )

    @property
    def bundled_profile(self) -> str | None:
        """The bundled profile the customer's run used, if it was one."""
        from conformance.profile import BUNDLED

        name = self.profile_source.removeprefix("bundled profile ")
        return name if name != self.profile_source and name in BUNDLED else None

    def describe(self) -> str:
        verdict = self.customer_verdict or "unknown"
        return f"{self.path} (sealed {self.sealed_at:%Y-%m-%d %H:%M} UTC by {self.sealed_by}; the customer's verdict: {verdict})"

    def profile_notice(self, profile: Profile) -> str | None:
        """A header line when support's run uses another profile than the customer's did."""
        if profile.sha256 == self.profile_sha256:
            return None
        return (
            f"profile: the customer's run used {self.profile_name} ({self.profile_source}, "
            f"sha256 {self.profile_sha256[:12]}), this run {profile.name} ({profile.source}, "
            f"sha256 {profile.sha256[:12]}): give the customer's profile with --jira-profile "
            "to compare like with like"
        )


@dataclass(frozen=True)
class Opened:
    """What a hand-over gives the settings: the URL, the credentials, and where they came from."""

    url: str
    credentials: Credentials
    handoff: Handoff


def open_handoff(
    raw_path: str,
    identity_path: str | None,
    *,
    identity_label: str = "--jira-identity",
    max_age_days: float = DEFAULT_MAX_AGE_DAYS,
    now: datetime | None = None,
) -> Opened:
    """Decrypt and check a hand-over in memory; any problem is one sentence (SettingsError)."""
    path = Path(raw_path).expanduser()
    shown = f"--jira-handoff {str(path)!r}"
    if not identity_path:
        raise SettingsError(
            f"{shown} needs Visor support's identity to open it: give --jira-identity PATH or "
            f"set {IDENTITY_ENV} to the path of the identity file"
        )
    data = read_regular_file(path, "--jira-handoff", MAX_HANDOFF_BYTES, what="hand-over")
    identities = load_identities(identity_path, identity_label)
    if not data.lstrip().startswith((AGE_MAGIC, AGE_ARMOR)):
        raise SettingsError(
            f"{shown} is not a hand-over: it is not an age-encrypted file (a hand-over is the "
            f"*{SUFFIX} file a customer's 'visor-jira-check URL --seal-for RECIPIENT' wrote)"
        )
    try:
        plaintext = pyrage.decrypt(data, identities)
    except pyrage.DecryptError as exc:
        raise SettingsError(_decrypt_problem(str(exc), data, shown, identities)) from None
    document = _parse(plaintext, shown)
    del plaintext
    return _opened(document, path, shown, max_age_days, now or datetime.now(UTC))


def _decrypt_problem(
    error: str, data: bytes, shown: str, identities: Sequence[x25519.Identity]
) -> str:
    """One sentence for a file that would not decrypt: another key, a passphrase, or damage."""
    if "no matching keys" in error.lower():
        if b"\n-> scrypt " in data[:4096]:
            return (
                f"{shown} was encrypted with a passphrase, not for a key: ask the customer to "
                "run the check again with --seal-for and your recipient"
            )
        mine = short_fingerprint(str(identities[0].to_public()))
        return (
            f"{shown} was not sealed for this identity (recipient {mine}): it was sealed for "
            "another key, or its header was changed; ask the customer to seal it again with "
            f"--seal-for {identities[0].to_public()}"
        )
    return (
        f"{shown} is damaged: it was cut short or changed after it was sealed (age checks every "
        "byte), so nothing in it can be trusted; ask the customer to send the file again"
    )


def _schema() -> dict[str, Any]:
    text = resources.files("conformance.schemas").joinpath("handoff.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _parse(plaintext: bytes, shown: str) -> dict[str, Any]:
    not_ours = (
        f"{shown} opens, but is not a hand-over of this tool (its content is not "
        f"{SCHEMA_ID}): ask the customer for the *{SUFFIX} file their run wrote"
    )
    try:
        document = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise SettingsError(not_ours) from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_ID:
        raise SettingsError(not_ours)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(_schema()).iter_errors(document)
    )
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "its top level"
        # Never error.message: it quotes the value, which may be the secret.
        raise SettingsError(
            f"{shown} is not a complete hand-over ({where} fails the rule '{error.validator}' "
            f"of {SCHEMA_ID}): ask the customer to seal it again"
        )
    return document


def _opened(
    document: dict[str, Any], path: Path, shown: str, max_age_days: float, now: datetime
) -> Opened:
    sealed = document["sealed"]
    try:
        sealed_at = datetime.fromisoformat(sealed["at"])
    except ValueError:
        sealed_at = None
    if sealed_at is None or sealed_at.tzinfo is None:
        raise SettingsError(f"{shown} has no valid sealing time (sealed.at): it cannot be dated")
    sealed_at = sealed_at.astimezone(UTC)
    age = now - sealed_at
    if age > timedelta(days=max_age_days):
        raise SettingsError(
            f"{shown} was sealed on {sealed_at:%Y-%m-%d} ({age.days} days ago), more than the "
            f"limit of {max_age_days:g} days: a secret that old may have been changed since; ask "
            "the customer to run the check again with --seal-for, or raise "
            "--jira-handoff-max-age"
        )
    if -age > CLOCK_SKEW:
        raise SettingsError(
            f"{shown} says it was sealed on {sealed_at:%Y-%m-%d %H:%M} UTC, later than now: "
            "the clock of this machine or the customer's is wrong; fix it and try again"
        )
    who = " on ".join(str(part) for part in (sealed.get("user"), sealed.get("host")) if part)
    profile = document["profile"]
    result = document.get("result")
    verdict = result.get("verdict") if isinstance(result, dict) else None
    handoff = Handoff(
        path=path,
        sealed_at=sealed_at,
        sealed_by=who or "an unknown machine",
        profile_name=profile["name"],
        profile_source=profile["source"],
        profile_sha256=profile["sha256"],
        customer_verdict=verdict if isinstance(verdict, str) else None,
    )
    origin = f"the hand-over {path}"
    url = validate_url(document["target"]["url"], f"the URL in {origin}")
    bot = document["bot"]
    user: str | None = bot.get("user")
    if user:
        user = clean_secret(user, origin, what="user name").strip() or None
    scheme: AuthScheme = bot["authScheme"]
    if scheme == "basic" and not user:
        raise SettingsError(
            f"{shown} asks for basic authentication but names no user: ask the customer to seal "
            "it again"
        )
    credentials = Credentials(
        user=user,
        secret=Secret(clean_secret(bot["secret"], origin)),
        scheme=scheme,
        secret_kind="token" if scheme == "bearer" else bot["secretKind"],
        origin=FROM_HANDOFF,
    )
    return Opened(url=url, credentials=credentials, handoff=handoff)
