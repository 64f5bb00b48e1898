"""The bot account: the right kind of credentials, a login Jira accepts, the expected user, and no
more rights than Visor needs.

The suite sends the bot's login once. A refused login is diagnosed from that one answer (its
status, Jira's login-reason headers, its body) together with what serverInfo said anonymously
beforehand (deployment and version) and where the secret came from, because a second attempt
could put the account behind a CAPTCHA.
"""

from __future__ import annotations

from conformance import versions
from conformance.check import Step, fail, not_applicable, note, requirement, show, warn
from conformance.classify import Kind
from conformance.diagnosis import fail_on_transport
from conformance.evidence import Evidence
from conformance.findings import Finding, credential_words, finding
from conformance.probes import account, api, network
from conformance.settings import Credentials
from conformance.target import JiraTarget


def login_refusal(jira: JiraTarget) -> tuple[Evidence, Evidence | None]:
    """/myself, and the evidence of the bot's refused login (None if none was refused).

    The refusal is the request Jira refused the login at (it may be serverInfo asked with the
    login), else /myself's own answer when that was a refusal. A /myself that answered 200 of
    the wrong shape, or not at all, is not a refused login.
    """
    me = jira.probe(account.myself)
    if me.ok or me.problem in ("schema", "not_json"):
        return me, None
    refused = account.rejection(jira, me)
    if refused.ok:
        return me, refused
    return me, (me if me.problem == "rejected" else None)


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
    me, refused = login_refusal(jira)
    show(me, refused)
    if refused is not None and refused.fact("kind") == Kind.WRONG_SCHEME:
        wrong = api.finding_of(jira, refused)
        if wrong is not None:
            fail(wrong)
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
            advice="cloud_api_token",
            **credential_words(creds.origin),
        )
    if not version.cloud and creds.scheme == "bearer" and not versions.has_pats(version.numbers):
        return finding(
            "AUTH_WRONG_SCHEME",
            secret_kind="token",
            scheme="bearer",
            deployment=version.describe(),
            reason=f"personal access tokens exist only from Jira {versions.label(versions.PATS_SINCE)}",
            advice="no_pat",
            version=versions.shown(version.numbers),
            **credential_words(creds.origin),
        )
    return None


@requirement(
    "auth.authenticates",
    "The bot account can log in",
    Step.API,
    after=["reachability.jira", "api.json_answers", "auth.credentials"],
)
def test_authenticates(jira: JiraTarget) -> None:
    me, refused = login_refusal(jira)
    show(me, refused)
    if me.ok:
        user = me.fact("user") or {}
        who = user.get("name") or user.get("emailAddress") or user.get("accountId")
        note(f"logged in as {who} ({user.get('displayName')})")
        return
    wrong = api.schema_finding(account.MYSELF, me)
    if wrong is not None:
        fail(wrong)  # Jira let the bot in; its answer has the wrong shape
    if refused is None:
        _fail_if_credentials_dropped(jira, me)
        fail_on_transport(jira, me)
    found = api.finding_of(jira, refused or me)
    if found is not None:
        fail(found)
    creds = jira.settings.credentials
    fail(
        finding(
            "AUTH_BAD_CREDENTIALS",
            secret_kind=creds.secret_kind if creds else "secret",
            user=jira.settings.user or "the token's owner",
            status=me.fact("status"),
            reason=f"{account.MYSELF} answered {me.fact('kind') or 'nothing usable'}",
        )
    )


def _fail_if_credentials_dropped(jira: JiraTarget, me: Evidence) -> None:
    """The credentialed /myself was cut off while Jira answered the same address anonymously:
    something on the way drops requests that carry an Authorization header."""
    if me.fact("failure") != "reset":
        return
    info = jira.probe(api.server_info)
    status = jira.probe(network.status)
    answered = [
        what
        for what, evidence in (("serverInfo", info), ("/status", status))
        if evidence.ok and (what == "/status" or info.fact("anonymous"))
    ]
    if answered:
        fail(
            finding(
                "NET_AUTH_BLOCKED",
                endpoint=account.MYSELF,
                error=me.fact("error") or "connection reset",
                answered=" and ".join(answered),
                url=jira.url,
            )
        )


@requirement(
    "auth.identity",
    "Jira answers as the bot, never as anonymous or another user",
    Step.BOT,
    after=["auth.authenticates"],
    probes=[account.admin_rights],
)
def test_identity(jira: JiraTarget) -> None:
    me = jira.probe(account.myself)
    show(me)
    user = me.fact("user") or {}
    bot = user.get("name")
    expected = jira.settings.user
    creds = jira.settings.credentials
    user_variable = credential_words(creds.origin if creds else None)["user_variable"]
    known_as = {
        str(user[k]).lower() for k in ("name", "key", "emailAddress", "accountId") if user.get(k)
    }
    actual = bot or user.get("emailAddress") or user.get("accountId")
    if expected and expected.lower() not in known_as:
        if api.deployment(jira)[1] == "Cloud" and not user.get("emailAddress"):
            note(f"Cloud hides this account's e-mail address: {expected} cannot be compared")
        else:
            fail(
                finding(
                    "AUTH_USER_MISMATCH",
                    actual=actual,
                    expected=expected,
                    where=f"{account.MYSELF} answered {actual}",
                    user_variable=user_variable,
                )
            )
    # The credentialed answers of the chain and of the bot's global permissions: the same
    # answers however the run fetched them.
    headers = account.identity_headers(
        jira, jira.probe(api.server_info), me, jira.probe(account.admin_rights)
    )
    answers = headers.fact("answers")
    checked = len(answers)
    for answer in answers:
        who, endpoint = answer["user"], answer["endpoint"]
        if who.lower() == "anonymous":
            fail(
                finding(
                    "AUTH_ANONYMOUS",
                    reason=f"{endpoint} answered {answer['status']} with X-AUSERNAME: anonymous",
                ),
                evidence=[headers],
            )
        # Recorded headers are scrubbed of the secret (which may equal the user name).
        if bot and who not in (bot, jira.redactor.scrub(bot)):
            fail(
                finding(
                    "AUTH_USER_MISMATCH",
                    actual=who,
                    expected=bot,
                    where=f"X-AUSERNAME of {endpoint}",
                    user_variable=user_variable,
                ),
                evidence=[headers],
            )
    if checked:
        note(f"X-AUSERNAME names {bot} on all {checked} credentialed answers so far")
    note(f"Jira knows the bot as {actual} ({user.get('displayName')})")


@requirement(
    "auth.least_privilege",
    "The bot account is not a Jira administrator",
    Step.BOT,
    after=["auth.authenticates"],
    probes=[account.admin_rights],
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
    wrong = api.schema_finding(account.MY_PERMISSIONS, rights)
    if wrong is not None:
        fail(wrong)
    if not rights.ok:
        note(f"global permissions could not be read ({rights.fact('error') or rights.problem})")
        return
    note(f"{who} holds neither {' nor '.join(account.ADMIN_PERMISSIONS)}")
