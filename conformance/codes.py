"""One typed record per finding code: the parameters its catalogue texts need.

A probe, the classifier or a check states what it observed as one of these
(``codes.NetDns(host="jira.example", error="...")``): mypy checks the code (the class) and each
parameter (its fields) where the record is built, and ``findings.explain`` fills the catalogue's
texts with it. ``advice`` picks the entry's advice text (a ``Literal`` of its table's keys) and
``via`` its words for handing over credentials. ``tests/unit/test_codes.py`` holds these fields
to the catalogue's placeholders and advice tables, so that neither drifts from the other.

Records are frozen plain data: probes keep them in their facts, and two runs that observed the
same thing compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, cast, get_args

from conformance.findings import Diagnosis, Via

# A status as a finding quotes it: the number, or words where no answer came ("rejected earlier").
Status = int | str


# --- Reachability ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetBadUrl(Diagnosis):
    code: ClassVar[str] = "NET_BAD_URL"
    url: str
    reason: str


@dataclass(frozen=True)
class NetDns(Diagnosis):
    code: ClassVar[str] = "NET_DNS"
    host: str
    error: str


@dataclass(frozen=True)
class NetRefused(Diagnosis):
    code: ClassVar[str] = "NET_REFUSED"
    host: str
    port: int


@dataclass(frozen=True)
class NetTimeout(Diagnosis):
    code: ClassVar[str] = "NET_TIMEOUT"
    host: str
    port: int
    timeout_s: float
    stage: str


@dataclass(frozen=True)
class NetTlsUntrusted(Diagnosis):
    code: ClassVar[str] = "NET_TLS_UNTRUSTED"
    host: str
    reason: str
    issuer: str


@dataclass(frozen=True)
class NetTlsHostname(Diagnosis):
    code: ClassVar[str] = "NET_TLS_HOSTNAME"
    host: str
    reason: str
    names: str


@dataclass(frozen=True)
class NetTlsExpired(Diagnosis):
    code: ClassVar[str] = "NET_TLS_EXPIRED"
    host: str
    reason: str
    not_after: str


@dataclass(frozen=True)
class NetProxy(Diagnosis):
    code: ClassVar[str] = "NET_PROXY"
    proxy: str
    host: str
    port: int
    reason: str


@dataclass(frozen=True)
class NetNotJira(Diagnosis):
    code: ClassVar[str] = "NET_NOT_JIRA"
    url: str
    reason: str


@dataclass(frozen=True)
class NetSsoGateway(Diagnosis):
    code: ClassVar[str] = "NET_SSO_GATEWAY"
    idp_host: str
    path: str
    hops: str


@dataclass(frozen=True)
class NetAuthBlocked(Diagnosis):
    code: ClassVar[str] = "NET_AUTH_BLOCKED"
    endpoint: str
    error: str
    answered: str
    url: str


@dataclass(frozen=True)
class NetStatusSlow(Diagnosis):
    code: ClassVar[str] = "NET_STATUS_SLOW"
    url: str
    timeout_s: float
    error: str


@dataclass(frozen=True)
class NetContextPath(Diagnosis):
    code: ClassVar[str] = "NET_CONTEXT_PATH"
    url: str
    suggested: str
    context_path: str


JiraState = Literal["STARTING", "STOPPING", "FIRST_RUN", "MAINTENANCE", "ERROR", "UNKNOWN"]


def state_advice(state: str) -> JiraState:
    """NET_NOT_RUNNING's advice for the state /status reports: its own, else UNKNOWN's."""
    return cast(JiraState, state) if state in get_args(JiraState) else "UNKNOWN"


@dataclass(frozen=True)
class NetNotRunning(Diagnosis):
    code: ClassVar[str] = "NET_NOT_RUNNING"
    url: str
    state: str
    advice: JiraState


@dataclass(frozen=True)
class NetPlainHttp(Diagnosis):
    code: ClassVar[str] = "NET_PLAIN_HTTP"
    url: str


@dataclass(frozen=True)
class NetSlow(Diagnosis):
    code: ClassVar[str] = "NET_SLOW"
    elapsed_ms: float
    limit_ms: float


@dataclass(frozen=True)
class NetReadTimeout(Diagnosis):
    code: ClassVar[str] = "NET_READ_TIMEOUT"
    host: str
    port: int
    timeout_s: float
    reason: str


@dataclass(frozen=True)
class NetTlsPlainPort(Diagnosis):
    code: ClassVar[str] = "NET_TLS_PLAIN_PORT"
    host: str
    port: int
    reason: str


@dataclass(frozen=True)
class NetTooSlow(Diagnosis):
    code: ClassVar[str] = "NET_TOO_SLOW"
    url: str
    reason: str


@dataclass(frozen=True)
class NetProxyAnswered(Diagnosis):
    """A proxy, load balancer or firewall answered in Jira's place (classify.who_answered)."""

    code: ClassVar[str] = "NET_PROXY_ANSWERED"
    proxy: str  # how it named itself: "squid/6.10 (Via: 1.1 gw (squid/6.10))"
    endpoint: str
    status: int
    said: str  # its own words: X-Squid-Error, the page's title, ...
    url: str
    host: str
    source: str  # the setting that chose a forward proxy ("" in front of Jira)
    advice: Literal["forward", "in_front"]


@dataclass(frozen=True)
class NetProxyPlainTunnel(Diagnosis):
    code: ClassVar[str] = "NET_PROXY_PLAIN_TUNNEL"
    proxy: str
    host: str
    port: int
    answered: str  # what came back in the tunnel


@dataclass(frozen=True)
class NetTlsVersion(Diagnosis):
    code: ClassVar[str] = "NET_TLS_VERSION"
    host: str
    port: int
    offered: str  # "TLS 1.0", or "a protocol older than TLS 1.2"
    reason: str


@dataclass(frozen=True)
class NetTlsSni(Diagnosis):
    code: ClassVar[str] = "NET_TLS_SNI"
    host: str
    port: int
    reason: str


@dataclass(frozen=True)
class NetTlsReset(Diagnosis):
    code: ClassVar[str] = "NET_TLS_RESET"
    host: str
    port: int
    reason: str


@dataclass(frozen=True)
class NetTlsChain(Diagnosis):
    code: ClassVar[str] = "NET_TLS_CHAIN"
    host: str
    port: int
    reason: str


@dataclass(frozen=True)
class NetTlsIntermediateExpired(Diagnosis):
    code: ClassVar[str] = "NET_TLS_INTERMEDIATE_EXPIRED"
    host: str
    port: int
    subject: str
    not_after: str
    leaf_not_after: str
    issuer: str
    reason: str


@dataclass(frozen=True)
class NetTlsClientCert(Diagnosis):
    code: ClassVar[str] = "NET_TLS_CLIENT_CERT"
    host: str
    port: int
    what: str  # "none was presented", "it refused the one presented (CN=...)"
    reason: str
    advice: Literal["missing", "refused"]


@dataclass(frozen=True)
class NetConnectionReset(Diagnosis):
    code: ClassVar[str] = "NET_CONNECTION_RESET"
    host: str
    port: int
    endpoint: str
    error: str
    url: str


# --- REST API -------------------------------------------------------------------------------------

NotJsonAdvice = Literal[
    "login_page",
    "proxy",
    "starting",
    "redirect",
    "redirect_to_https",
    "truncated",
    "intercepted",
    "unknown",
]


@dataclass(frozen=True)
class ApiNotJson(Diagnosis):
    code: ClassVar[str] = "API_NOT_JSON"
    endpoint: str
    status: Status
    kind: str  # what came instead: "Jira's login page", "binary data", ...
    content_type: str
    advice: NotJsonAdvice


@dataclass(frozen=True)
class ApiV2Missing(Diagnosis):
    code: ClassVar[str] = "API_V2_MISSING"
    url: str
    reason: str


@dataclass(frozen=True)
class ApiBaseurlMismatch(Diagnosis):
    code: ClassVar[str] = "API_BASEURL_MISMATCH"
    base_url: str
    url: str


@dataclass(frozen=True)
class ApiSchema(Diagnosis):
    code: ClassVar[str] = "API_SCHEMA"
    endpoint: str
    field: str
    problem: str


JiraErrorAdvice = Literal["profile", "suite_request", "not_found", "jira_failed"]


@dataclass(frozen=True)
class ApiJiraError(Diagnosis):
    code: ClassVar[str] = "API_JIRA_ERROR"
    endpoint: str
    status: int
    message: str
    advice: JiraErrorAdvice


@dataclass(frozen=True)
class ApiSearchRemoved(Diagnosis):
    code: ClassVar[str] = "API_SEARCH_REMOVED"


# --- Bot account ----------------------------------------------------------------------------------

Deployment = Literal["data_center", "cloud"]


@dataclass(frozen=True)
class AuthNoCredentials(Diagnosis):
    code: ClassVar[str] = "AUTH_NO_CREDENTIALS"


@dataclass(frozen=True)
class AuthBadCredentials(Diagnosis):
    code: ClassVar[str] = "AUTH_BAD_CREDENTIALS"
    secret_kind: str
    user: str
    status: Status
    reason: str
    advice: Deployment


@dataclass(frozen=True)
class AuthCaptcha(Diagnosis):
    code: ClassVar[str] = "AUTH_CAPTCHA"
    user: str
    reason: str
    login_url: str
    via: Via


@dataclass(frozen=True)
class AuthBasicDisabled(Diagnosis):
    code: ClassVar[str] = "AUTH_BASIC_DISABLED"
    reason: str
    user: str
    version: str
    via: Via
    advice: Literal["sso_app", "token", "token_off_by_default"]


@dataclass(frozen=True)
class AuthWrongScheme(Diagnosis):
    code: ClassVar[str] = "AUTH_WRONG_SCHEME"
    secret_kind: str
    scheme: str
    deployment: str
    reason: str
    version: str
    via: Via
    advice: Literal["cloud_api_token", "no_pat", "pat_as_password"]


@dataclass(frozen=True)
class AuthAnonymous(Diagnosis):
    code: ClassVar[str] = "AUTH_ANONYMOUS"
    reason: str


@dataclass(frozen=True)
class AuthSsoRedirect(Diagnosis):
    code: ClassVar[str] = "AUTH_SSO_REDIRECT"
    location: str
    via: Via


@dataclass(frozen=True)
class AuthUserMismatch(Diagnosis):
    code: ClassVar[str] = "AUTH_USER_MISMATCH"
    actual: str
    expected: str
    where: str
    via: Via
    advice: Deployment


@dataclass(frozen=True)
class AuthLoginLost(Diagnosis):
    code: ClassVar[str] = "AUTH_LOGIN_LOST"
    endpoint: str
    status: int
    reason: str
    user: str


@dataclass(frozen=True)
class AuthAdminBot(Diagnosis):
    code: ClassVar[str] = "AUTH_ADMIN_BOT"
    user: str
    how: str


@dataclass(frozen=True)
class AuthSecretUnsendable(Diagnosis):
    code: ClassVar[str] = "AUTH_SECRET_UNSENDABLE"
    secret_kind: str
    reason: str


@dataclass(frozen=True)
class AuthCloudUserNotEmail(Diagnosis):
    code: ClassVar[str] = "AUTH_CLOUD_USER_NOT_EMAIL"
    user: str
    url: str
    via: Via


# --- Version --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerUnsupported(Diagnosis):
    code: ClassVar[str] = "VER_UNSUPPORTED"
    version: str
    deployment: str
    supported: str
    profile: str


@dataclass(frozen=True)
class VerEol(Diagnosis):
    code: ClassVar[str] = "VER_EOL"
    version: str
    line: str
    eol: str
    server_note: str


@dataclass(frozen=True)
class VerUnknown(Diagnosis):
    code: ClassVar[str] = "VER_UNKNOWN"
    reason: str
    url: str


# --- Permissions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermProjectInvisible(Diagnosis):
    code: ClassVar[str] = "PERM_PROJECT_INVISIBLE"
    subject: str
    reason: str
    user: str
    advice: Literal["one_project", "every_project"]
    project: str = ""  # named by the "one_project" advice


@dataclass(frozen=True)
class PermMissing(Diagnosis):
    code: ClassVar[str] = "PERM_MISSING"
    missing: str
    project: str
    purpose: str
    scheme: str
    user: str


@dataclass(frozen=True)
class PermRequiredField(Diagnosis):
    code: ClassVar[str] = "PERM_REQUIRED_FIELD"
    issue_type: str
    project: str
    field: str
    field_id: str


@dataclass(frozen=True)
class PermIssueTypeMissing(Diagnosis):
    code: ClassVar[str] = "PERM_ISSUE_TYPE_MISSING"
    issue_type: str
    project: str
    offered: str


@dataclass(frozen=True)
class PermFieldNotEditable(Diagnosis):
    code: ClassVar[str] = "PERM_FIELD_NOT_EDITABLE"
    field: str
    issue_type: str
    project: str
    issue: str


# --- Import ---------------------------------------------------------------------------------------


SearchAdvice = Literal["bad_jql", "no_browse", "search_hidden", "rate_limited", "jira_failed"]


@dataclass(frozen=True)
class ImpSearchFailed(Diagnosis):
    code: ClassVar[str] = "IMP_SEARCH_FAILED"
    project: str
    where: str
    status: Status
    message: str
    jql: str
    advice: SearchAdvice


@dataclass(frozen=True)
class ImpPagination(Diagnosis):
    code: ClassVar[str] = "IMP_PAGINATION"
    project: str
    problem: str


@dataclass(frozen=True)
class ImpFieldMissing(Diagnosis):
    code: ClassVar[str] = "IMP_FIELD_MISSING"
    project: str
    field: str
    missing: int | str  # a count, or "all"
    inspected: int
    example: str


@dataclass(frozen=True)
class ImpSlow(Diagnosis):
    code: ClassVar[str] = "IMP_SLOW"
    project: str
    projected: str
    rate: float
    total: str
    limit: str


# --- Write round trip -----------------------------------------------------------------------------

WriteAdvice = Literal[
    "foreign",
    "timeout",
    "timeout_found",
    "broken",
    "permission",
    "refused",
    "hidden",
    "gone",
    "jira_failed",
]


@dataclass(frozen=True)
class WriteStepFailed(Diagnosis):
    """What the two failed-step codes share (the advice texts are one table): not a code."""

    status: Status
    message: str
    step: str
    project: str
    permission: str
    own: str  # the run's own issue found by its label, or "none was found"
    advice: WriteAdvice


@dataclass(frozen=True)
class WriteCreateFailed(WriteStepFailed):
    code: ClassVar[str] = "WRITE_CREATE_FAILED"
    issue_type: str


@dataclass(frozen=True)
class WriteEditFailed(WriteStepFailed):
    code: ClassVar[str] = "WRITE_EDIT_FAILED"
    key: str


@dataclass(frozen=True)
class WriteReadbackMismatch(Diagnosis):
    code: ClassVar[str] = "WRITE_READBACK_MISMATCH"
    key: str
    step: str
    difference: str
    project: str


@dataclass(frozen=True)
class WriteCleanupFailed(Diagnosis):
    code: ClassVar[str] = "WRITE_CLEANUP_FAILED"
    key: str
    reason: str
    link: str
    project: str
    # What Jira's refusal is explained by: the survey showed the bot without Delete Issues
    # ("permission"), holding it ("held"), did not survey it ("unknown"); or Jira hid the issue;
    # or the delete was answered as done while the issue still reads back ("blocked").
    advice: Literal["permission", "held", "unknown", "hidden", "blocked"]


@dataclass(frozen=True)
class WriteCleanupUnproven(Diagnosis):
    code: ClassVar[str] = "WRITE_CLEANUP_UNPROVEN"
    key: str
    reason: str
    link: str
    project: str
    advice: Literal["vanished", "unanswered"]


@dataclass(frozen=True)
class WriteMaybeLeft(Diagnosis):
    code: ClassVar[str] = "WRITE_MAYBE_LEFT"
    project: str
    create_answer: str  # what came back to the create instead of an issue key
    run_label: str
    waited_s: float
    jql: str


# --- The run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunDeadline(Diagnosis):
    code: ClassVar[str] = "RUN_DEADLINE"
    deadline_s: float
    not_run: int
    suggested_s: float


@dataclass(frozen=True)
class RunSuiteLimit(Diagnosis):
    code: ClassVar[str] = "RUN_SUITE_LIMIT"
    endpoint: str
    what: str
    limit: str


@dataclass(frozen=True)
class RateLimited(Diagnosis):
    code: ClassVar[str] = "RATE_LIMITED"
    count: int
    paced: int
    limit: int | str  # the bucket's size, or "not stated"
    fill_rate: str
