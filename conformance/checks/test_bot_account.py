"""The bot account: the right kind of credentials, a login Jira accepts, the expected user, and no
more rights than Visor needs.

The suite sends the bot's login once. A refused login is diagnosed from that one answer (its
status, Jira's login-reason headers, its body) together with what serverInfo said anonymously
beforehand (deployment and version) and where the secret came from, because a second attempt
could put the account behind a CAPTCHA.
"""

from __future__ import annotations

from urllib.parse import unquote

from conformance import versions
from conformance.check import Step, fail, not_applicable, note, requirement, show, warn
from conformance.classify import Kind, Verdict
from conformance.diagnosis import fail_on_transport
from conformance.evidence import Evidence
from conformance.findings import Finding, finding
from conformance.probes import account, api
from conformance.settings import Credentials
from conformance.target import JiraTarget


def login_verdict(jira: JiraTarget) -> tuple[Evidence, Verdict | None]:
    """/myself, and the classified refusal of the bot's login (None if accepted or unanswered)."""
    me = jira.probe(account.myself)
    if me.ok:
        return me, None
    rejection = jira.http.rejection
    if rejection is not None:
        return me, api.judged(jira, rejection)
    answered = [x for x in me.exchanges if x.status is not None]
    return me, (api.judged(jira, answered[-1]) if answered else None)


@requirement(
    "auth.credentials",
    "The bot's credentials are of the kind this deployment accepts",
    Step.BOT,
)
def test_credentials(jira: JiraTarget) -> None:
    creds = jira.settings.credentials
    if creds is None:
        fail(finding("AUTH_NO_CREDENTIALS"))
    note(f"credentials: {creds.describe()}")
    # Only what the run already asked: when Jira did not answer, nothing more is sent for this.
    info = jira.cached(api.server_info)
    if info is None or jira.cached(account.myself) is None:
        not_applicable("Jira did not answer, so the bot's credentials could not be tried")
    version, _ = versions.learn(info.fact("body"))
    me, verdict = login_verdict(jira)
    show(me)
    if verdict is not None and verdict.kind is Kind.WRONG_SCHEME and verdict.finding:
        fail(verdict.finding)
    if version is not None:
        mismatch = scheme_mismatch(creds, version)
        if mismatch is not None:
            fail(mismatch)
        note(f"this deployment expects {versions.token_type(version).choice}")
        if me.ok and creds.origin == "JIRA_TOKEN" and creds.scheme == "basic" and not version.cloud:
            note(
                "JIRA_TOKEN was accepted as a basic password, so it holds a password: "
                "JIRA_PASSWORD is the place for it"
            )


def scheme_mismatch(creds: Credentials, version: versions.JiraVersion) -> Finding | None:
    """What is wrong with the credentials for this deployment before any login is judged."""
    if version.cloud and creds.scheme == "bearer":
        return finding(
            "AUTH_WRONG_SCHEME",
            secret_kind="token",
            scheme="bearer",
            deployment="Jira Cloud",
            reason="Cloud accepts API tokens only as basic authentication with the account's e-mail",
            advice=versions.CLOUD_API_TOKEN_ADVICE,
        )
    if not version.cloud and creds.scheme == "bearer" and not versions.has_pats(version.numbers):
        return finding(
            "AUTH_WRONG_SCHEME",
            secret_kind="token",
            scheme="bearer",
            deployment=version.describe(),
            reason=f"personal access tokens exist only from Jira {versions.label(versions.PATS_SINCE)}",
            advice=versions.no_pat_advice(version.numbers),
        )
    return None


@requirement(
    "auth.authenticates",
    "The bot account can log in",
    Step.API,
    after=["reachability.jira", "api.json_answers", "auth.credentials"],
)
def test_authenticates(jira: JiraTarget) -> None:
    me, verdict = login_verdict(jira)
    show(me)
    if me.ok:
        wrong = me.fact("schema")
        if wrong is not None:
            field, problem = wrong
            fail(finding("API_SCHEMA", endpoint=account.MYSELF, field=field, problem=problem))
        user = me.fact("user") or {}
        who = user.get("name") or user.get("emailAddress") or user.get("accountId")
        note(f"logged in as {who} ({user.get('displayName')})")
        return
    if verdict is None:
        fail_on_transport(jira, me)
    if verdict is not None and verdict.finding is not None:
        fail(verdict.finding)
    creds = jira.settings.credentials
    fail(
        finding(
            "AUTH_BAD_CREDENTIALS",
            secret_kind=creds.secret_kind if creds else "secret",
            user=jira.settings.user or "the token's owner",
            status=me.fact("status"),
            reason=f"/myself answered {verdict.detail if verdict else 'nothing usable'}",
        )
    )


@requirement(
    "auth.identity",
    "Jira answers as the bot, never as anonymous or another user",
    Step.BOT,
    after=["auth.authenticates"],
)
def test_identity(jira: JiraTarget) -> None:
    me = jira.probe(account.myself)
    show(me)
    user = me.fact("user") or {}
    bot = user.get("name")
    expected = jira.settings.user
    known_as = {
        str(user[k]).lower() for k in ("name", "key", "emailAddress", "accountId") if user.get(k)
    }
    actual = bot or user.get("emailAddress") or user.get("accountId")
    if expected and expected.lower() not in known_as:
        if jira.identity.get("deploymentType") == "Cloud" and not user.get("emailAddress"):
            note(f"Cloud hides this account's e-mail address: {expected} cannot be compared")
        else:
            fail(
                finding(
                    "AUTH_USER_MISMATCH",
                    actual=actual,
                    expected=expected,
                    where=f"{account.MYSELF} answered {actual}",
                )
            )
    checked = 0
    for exchange in list(jira.http.exchanges):
        header = exchange.header("X-AUSERNAME")
        if exchange.auth_scheme is None or header is None or not exchange.status:
            continue
        if exchange.status >= 400:
            continue
        checked += 1
        who = unquote(header)
        endpoint = api.endpoint_of(jira, exchange.url)
        if who.lower() == "anonymous":
            fail(
                finding(
                    "AUTH_ANONYMOUS",
                    reason=f"{endpoint} answered {exchange.status} with X-AUSERNAME: anonymous",
                )
            )
        # Recorded headers are scrubbed of the secret (which may equal the user name).
        if bot and who not in (bot, jira.redactor.scrub(bot)):
            fail(
                finding(
                    "AUTH_USER_MISMATCH",
                    actual=who,
                    expected=bot,
                    where=f"X-AUSERNAME of {endpoint}",
                )
            )
    if checked:
        note(f"X-AUSERNAME names {bot} on all {checked} credentialed answers so far")
    note(f"Jira knows the bot as {actual} ({user.get('displayName')})")


@requirement(
    "auth.least_privilege",
    "The bot account is not a Jira administrator",
    Step.BOT,
    after=["auth.authenticates"],
)
def test_least_privilege(jira: JiraTarget) -> None:
    me = jira.probe(account.myself)
    rights = jira.probe(account.admin_rights)
    show(me, rights)
    user = me.fact("user") or {}
    who = user.get("name") or user.get("emailAddress") or jira.settings.user or "the bot"
    groups = [g for g in me.fact("groups") or [] if g in account.ADMIN_GROUPS]
    held = rights.fact("held") or []
    how = [f"holds {', '.join(held)}"] if held else []
    if groups:
        how.append(f"member of {', '.join(groups)}")
    if how:
        warn(finding("AUTH_ADMIN_BOT", user=who, how="; ".join(how)))
        return
    if not rights.ok:
        note(f"global permissions could not be read ({rights.fact('error') or rights.problem})")
        return
    note(f"{who} holds neither {' nor '.join(account.ADMIN_PERMISSIONS)}")
