"""The bot account: the right kind of credentials, a login Jira accepts, the expected user, and no
more rights than Visor needs.

The suite sends the bot's login once. A refused login is diagnosed from that one answer (its
status, Jira's login-reason headers, its body) together with what serverInfo said anonymously
beforehand (deployment and version) and where the secret came from, because a second attempt
could put the account behind a CAPTCHA.
"""

from __future__ import annotations

from conformance import codes, versions
from conformance.check import Step, fail, not_applicable, note, requirement, show, warn
from conformance.classify import Kind
from conformance.diagnosis import cloud_login, fail_on_transport, recorded
from conformance.evidence import AnyEvidence, Evidence
from conformance.findings import via
from conformance.probes import account, api, network
from conformance.probes.account import MyselfFacts, RejectionFacts
from conformance.settings import Credentials
from conformance.target import JiraTarget


def login_refusal(
    jira: JiraTarget,
) -> tuple[Evidence[MyselfFacts], Evidence[RejectionFacts] | Evidence[MyselfFacts] | None]:
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
    "Kind of credentials against what this deployment accepts",
    Step.BOT,
)
def test_credentials(jira: JiraTarget) -> None:
    creds = jira.settings.credentials
    if creds is None:
        fail(codes.AuthNoCredentials())
    note(f"credentials: {creds.describe()}")
    # Only what the run already asked: when Jira did not answer, nothing more is sent for this.
    info = jira.cached(api.server_info)
    if info is None or jira.cached(account.myself) is None:
        not_applicable("Jira did not answer, so the bot's credentials could not be tried")
    version, _ = versions.learn(info.facts.get("body"))
    me, refused = login_refusal(jira)
    show(me, refused)
    if refused is not None and refused.facts.get("kind") == Kind.WRONG_SCHEME:
        wrong = recorded(jira, refused)
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
    # Also said before anything was sent, where the URL names Atlassian's cloud (JiraTarget).
    not_email = cloud_login(jira.url, creds, cloud=version is not None and version.cloud)
    if not_email is not None:
        warn(not_email)


def scheme_mismatch(
    creds: Credentials, version: versions.JiraVersion
) -> codes.AuthWrongScheme | None:
    """What is wrong with the credentials for this deployment before any login is judged."""
    if version.cloud and creds.scheme == "bearer":
        return codes.AuthWrongScheme(
            secret_kind="token",
            scheme="bearer",
            deployment="Jira Cloud",
            reason="Cloud accepts API tokens only as basic authentication with the account's e-mail",
            advice="cloud_api_token",
            version=versions.shown(version.numbers),
            via=via(creds.origin),
        )
    if not version.cloud and creds.scheme == "bearer" and not versions.has_pats(version.numbers):
        return codes.AuthWrongScheme(
            secret_kind="token",
            scheme="bearer",
            deployment=version.describe(),
            reason=f"personal access tokens exist only from Jira {versions.label(versions.PATS_SINCE)}",
            advice="no_pat",
            version=versions.shown(version.numbers),
            via=via(creds.origin),
        )
    return None


@requirement(
    "auth.authenticates",
    "Login of the bot account",
    Step.API,
    after=["reachability.jira", "api.json_answers", "auth.credentials"],
)
def test_authenticates(jira: JiraTarget) -> None:
    me, refused = login_refusal(jira)
    show(me, refused)
    if me.ok:
        user = me.facts.get("user") or {}
        who = user.get("name") or user.get("emailAddress") or user.get("accountId")
        note(f"logged in as {who} ({user.get('displayName')})")
        return
    wrong = api.schema_diagnosis(account.MYSELF, me)
    if wrong is not None:
        fail(wrong)  # Jira let the bot in; its answer has the wrong shape
    if refused is None:
        _fail_if_credentials_dropped(jira, me)
        fail_on_transport(jira, me)
    found = recorded(jira, refused or me)
    if found is not None:
        fail(found)
    creds = jira.settings.credentials
    status = me.facts.get("status")
    fail(
        codes.AuthBadCredentials(
            secret_kind=creds.secret_kind if creds else "secret",
            user=jira.settings.user or "the token's owner",
            status=status if status is not None else "no status",
            reason=f"{account.MYSELF} answered {me.facts.get('kind') or 'nothing usable'}",
            advice="cloud" if api.deployment(jira)[1] == "Cloud" else "data_center",
        )
    )


def _fail_if_credentials_dropped(jira: JiraTarget, me: Evidence[MyselfFacts]) -> None:
    """The credentialed /myself was cut off while Jira answered the same address anonymously:
    something on the way drops requests that carry an Authorization header."""
    if me.facts.get("failure") != "reset":
        return
    info = jira.probe(api.server_info)
    status = jira.probe(network.status)
    answered = [
        what
        for what, evidence in (("serverInfo", info), ("/status", status))
        if evidence.ok and (what == "/status" or info.facts.get("anonymous"))
    ]
    if answered:
        fail(
            codes.NetAuthBlocked(
                endpoint=account.MYSELF,
                error=me.facts.get("error") or "connection reset",
                answered=" and ".join(answered),
                url=jira.url,
            )
        )


@requirement(
    "auth.identity",
    "Who Jira answers as: the bot, anonymous or another user",
    Step.BOT,
    after=["auth.authenticates"],
    probes=[account.admin_rights],
)
def test_identity(jira: JiraTarget) -> None:
    me = jira.probe(account.myself)
    show(me)
    user = me.facts.get("user") or {}
    bot = _text(user.get("name"))
    expected = jira.settings.user
    creds = jira.settings.credentials
    words = via(creds.origin if creds else None)
    cloud = api.deployment(jira)[1] == "Cloud"
    known_as = {
        str(user[k]).lower() for k in ("name", "key", "emailAddress", "accountId") if user.get(k)
    }
    actual = bot or _text(user.get("emailAddress")) or _text(user.get("accountId")) or "unknown"
    if expected and expected.lower() not in known_as:
        if cloud and not user.get("emailAddress"):
            note(f"Cloud hides this account's e-mail address: {expected} cannot be compared")
        else:
            fail(
                codes.AuthUserMismatch(
                    actual=actual,
                    expected=expected,
                    where=f"{account.MYSELF} answered {actual}",
                    via=words,
                    advice="cloud" if cloud else "data_center",
                )
            )
    # The credentialed answers of the chain and of the bot's global permissions: the same
    # answers however the run fetched them.
    chain: tuple[AnyEvidence, ...] = (
        jira.probe(api.server_info),
        me,
        jira.probe(account.admin_rights),
    )
    headers = account.identity_headers(jira, *chain)
    answers = headers.facts["answers"]
    checked = len(answers)
    for answer in answers:
        who, endpoint = answer["user"], answer["endpoint"]
        if who.lower() == "anonymous":
            fail(
                codes.AuthAnonymous(
                    reason=f"{endpoint} answered {answer['status']} as the user anonymous",
                ),
                evidence=[headers],
            )
        # Recorded headers are scrubbed of the secret (which may equal the user name).
        if bot and who not in (bot, jira.redactor.scrub(bot)):
            fail(
                codes.AuthUserMismatch(
                    actual=who,
                    expected=bot,
                    where=f"the user Jira named in its answer to {endpoint}",
                    via=words,
                    advice="cloud" if cloud else "data_center",
                ),
                evidence=[headers],
            )
    if checked:
        note(f"X-AUSERNAME names {bot} on all {checked} credentialed answers so far")
    note(f"Jira knows the bot as {actual} ({user.get('displayName')})")


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


@requirement(
    "auth.least_privilege",
    "Administrator rights of the bot account",
    Step.BOT,
    after=["auth.authenticates"],
    probes=[account.admin_rights],
)
def test_least_privilege(jira: JiraTarget) -> None:
    me = jira.probe(account.myself)
    rights = jira.probe(account.admin_rights)
    show(me, rights)
    user = me.facts.get("user") or {}
    who = (
        _text(user.get("name"))
        or _text(user.get("emailAddress"))
        or jira.settings.user
        or "the bot"
    )
    groups = [g for g in me.facts.get("groups") or [] if g in account.ADMIN_GROUPS]
    held = rights.facts.get("held") or []
    how = [f"holds {', '.join(held)}"] if held else []
    if groups:
        how.append(f"member of {', '.join(groups)}")
    if how:
        warn(codes.AuthAdminBot(user=who, how="; ".join(how)))
        return
    wrong = api.schema_diagnosis(account.MY_PERMISSIONS, rights)
    if wrong is not None:
        fail(wrong)
    if not rights.ok:
        note(
            f"global permissions could not be read ({rights.facts.get('error') or rights.problem})"
        )
        return
    note(f"{who} holds neither {' nor '.join(account.ADMIN_PERMISSIONS)}")
