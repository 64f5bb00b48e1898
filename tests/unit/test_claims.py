"""No invented claims about Visor: every sentence of the catalogue that names Visor, in every
finding as rendered, is one a person checked against its source (the customer guide, or the
integration profile) and listed below with that source.

A new sentence about Visor fails this test until it is added here with its source, after a
review by hand. Sentences that only send the reader to Visor support are advice, not claims
about how Visor behaves, and are listed with the guide's words about support tickets.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest

from conformance import versions
from conformance.checks import test_import as import_check
from conformance.findings import (
    CATALOGUE,
    CREDENTIAL_WORDS,
    FindingSpec,
    FindingTemplateError,
    Severity,
    finding,
)

# The customer guide lives beside the repository (CI copies shared/ next to the clone).
_GUIDE_NAME = "shared/reference/visor-jira-server-integration-guide.txt"
GUIDE = next(
    (
        path
        for path in (Path(__file__).resolve().parents[3] / _GUIDE_NAME, Path("/work") / _GUIDE_NAME)
        if path.exists()
    ),
    Path("/work") / _GUIDE_NAME,
)
SUPPORT = "guide: Integrating with Jira Server will require you to submit a support ticket"

# Each allowed sentence (as rendered with SAMPLE values) and its source.
ALLOWED: dict[str, str] = {
    'The customer guide (step 2) calls the Instance URL "the web address Visor will use to '
    'connect to your Jira instance", so its host must resolve where Visor connects from too: '
    "ask your network administrator to publish jira.example.com or give the public address.": (
        "guide: This is the web address Visor will use to connect to your Jira instance."
    ),
    "Ask the network administrator to allow connections from this machine's address to "
    "jira.example.com:443 (the customer guide notes that firewall settings may be needed for "
    "Visor to access Jira).": (
        "guide: it is also possible that certain firewall settings may be necessary to allow "
        "Visor to access your Jira Instance"
    ),
    "If https://jira.example.com is the Instance URL you give Visor (customer guide, step 2), "
    "set it under Administration > System > General configuration > Edit settings > Base "
    "URL.": "guide: Visor needs to know the “Instance URL” for your Jira server.",
    "A reverse proxy, a security app or a customisation "
    "is rewriting Jira's answers: ask the Jira administrator which one, and send this report "
    "(it shows the answer) to Visor support.": SUPPORT,
    "Integrations that still call /rest/api/2/search on Cloud break; the customer guide says "
    "the Visor integration is built on REST API version 2, so ask Visor support whether it "
    "uses the replacement.": "guide: The Visor Jira Integration is built using the Jira REST "
    "API version 2.",
    "The bot account visor-bot is a Jira administrator (holds ADMINISTER): it holds more rights "
    "than the customer guide asks for (access to read or write the projects used with Visor).": (
        "guide: it has the necessary permissions to read or write data in the Jira Projects "
        "you would like to work with in Visor"
    ),
    "Upgrade Jira to a supported version (an LTS release is best), or ask Visor support whether "
    "this version can be added to your integration profile.": SUPPORT,
    "If a proxy or app rewrites that answer, exempt /rest/api/2/serverInfo; otherwise send this "
    "report to Visor support.": SUPPORT,
    "Send this report to Visor support if it persists.": SUPPORT,
    "Send this report to Visor support with the proxy's details.": SUPPORT,
    "Jira refused a request the suite makes on its own (nothing from the integration profile "
    "is in it), so there is nothing to correct in the profile or in Jira: send this report to "
    "Visor support.": SUPPORT,
    "Narrow the run to the projects you will work with in Visor: --jira-project KEY "
    "(repeatable), or the projects list of the integration profile (--jira-profile).": (
        "guide: the Jira Projects you would like to work with in Visor"
    ),
    # {purpose} is the access mode the profile gives the project ("read (import) its issues").
    "The bot lacks <missing> in project <project>, which Visor needs to <purpose>.": "profile",
}

SAMPLE = {
    "url": "https://jira.example.com",
    "host": "jira.example.com",
    "port": 443,
    "user": "visor-bot",
    "how": "holds ADMINISTER",
    "version": "7.0.0",
    "timeout_s": 10.0,
    "elapsed_ms": 1500.0,
    "limit_ms": 1000.0,
    "rate": 12.5,
}


def sample_params(template: str) -> dict[str, Any]:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return {name: SAMPLE.get(name, f"<{name}>") for name in names}


def rendered(code: str) -> list[str]:
    """The code's summary and remediation, once with each of its advice texts and each set of
    the catalogue's credential words: every sentence the catalogue can produce."""
    spec = CATALOGUE[code]
    texts = []
    advices: list[str | None] = [*sorted(spec.advice)] or [None]
    for advice in advices:
        text = spec.advice[advice] if advice else ""
        params = sample_params(spec.summary + spec.remediation.replace("{advice}", text))
        for words in CREDENTIAL_WORDS.values():
            filled: dict[str, Any] = {**params, **words}
            made = finding(code, advice=advice, **filled)
            texts += [made.summary, made.remediation]
    return texts


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if s.strip()]


def visor_sentences(texts: list[str]) -> list[str]:
    """Sentences naming Visor (the product: "visor-bot", a sample user name, is not it)."""
    return [s for text in texts for s in sentences(text) if re.search(r"\bVisor\b(?!-)", s)]


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_each_advice_key_renders_its_own_filled_remediation(code: str) -> None:
    remediations = rendered(code)[1::2]
    assert not [t for t in remediations if "{advice}" in t or "<advice>" in t]
    assert len(set(remediations)) >= len(CATALOGUE[code].advice), "one text per advice key"


def test_every_set_of_credential_words_fills_the_same_placeholders() -> None:
    assert len({frozenset(words) for words in CREDENTIAL_WORDS.values()}) == 1


def test_an_unknown_missing_or_unwanted_advice_key_raises() -> None:
    facts: dict[str, Any] = {"url": "https://jira.example.com", "state": "STARTING"}
    for wrong in ("RUNNING", None, "Jira is still starting; wait until it runs."):
        with pytest.raises(FindingTemplateError, match="has no advice"):
            finding("NET_NOT_RUNNING", advice=wrong, **facts)
    with pytest.raises(FindingTemplateError, match="has no advice 'tls'"):
        finding("NET_PLAIN_HTTP", advice="tls", url="http://jira.example.com")


def test_a_placeholder_of_the_chosen_advice_must_be_given() -> None:
    facts: dict[str, Any] = {"project": "OPS", "where": "page 1", "status": 400, "message": "bad"}
    with pytest.raises(FindingTemplateError, match="without jql"):
        finding("IMP_SEARCH_FAILED", advice="bad_jql", **facts)
    assert "search API" in finding("IMP_SEARCH_FAILED", advice="search_hidden", **facts).remediation


def test_an_advice_table_and_its_placeholder_go_together() -> None:
    with pytest.raises(FindingTemplateError):
        FindingSpec("X", Severity.ERROR, "Summary.", "{advice}")
    with pytest.raises(FindingTemplateError):
        FindingSpec("X", Severity.ERROR, "Summary.", "Fix it.", advice={"key": "Fix it."})


def test_the_keys_the_rules_choose_are_in_the_catalogue() -> None:
    """Call sites pick some keys by a rule (the version, the HTTP status): each is a real key."""
    chosen: set[tuple[str, str]] = {
        ("IMP_SEARCH_FAILED", key) for key in import_check._SEARCH_ADVICE.values()
    }
    for numbers in (None, (7, 13), (8, 14), (10, 3, 12), (11, 0)):
        chosen.add(("AUTH_BASIC_DISABLED", versions.basic_disabled_advice(numbers)))
        chosen.add(("AUTH_WRONG_SCHEME", versions.pat_as_password_advice(numbers)))
    assert {(code, key) for code, key in chosen if key not in CATALOGUE[code].advice} == set()


# The credential advice, rendered for every origin of the secret (the words differ by origin).
ADVICE = rendered("AUTH_WRONG_SCHEME") + rendered("AUTH_BASIC_DISABLED")


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_sentence_about_visor_in_a_rendered_finding_is_sourced(code: str) -> None:
    unsourced = [s for s in visor_sentences(rendered(code)) if s not in ALLOWED]
    assert unsourced == [], f"{code}: add a source for these sentences or reword them"


def test_advice_texts_make_no_claim_about_visor() -> None:
    assert visor_sentences(ADVICE) == []


def test_the_allowlist_has_no_stale_entries() -> None:
    """Every allowed sentence is still rendered somewhere: the list stays the reviewed truth."""
    everything = {s for code in CATALOGUE for s in visor_sentences(rendered(code))}
    assert set(ALLOWED) - everything == set()


@pytest.mark.skipif(not GUIDE.exists(), reason="the customer guide is not on this machine")
def test_each_guide_source_quotes_the_guide() -> None:
    guide = " ".join(GUIDE.read_text(encoding="utf-8").split())
    for source in set(ALLOWED.values()) - {"profile"}:
        quote = source.removeprefix("guide: ").rstrip(".")
        assert source.startswith("guide: ") and quote in guide, source


INVENTED = (
    "Visor will refuse plain http",
    "Visor uses /rest/api/3/search/jql",
    "Visor backs off",
    "Visor still works with this version",
    "Visor's import pages exactly like this",
    "Visor's servers need the same",
    "Visor's egress addresses",
    "Visor must use https",
)


@pytest.mark.parametrize("claim", INVENTED)
def test_the_claims_issue_12_named_are_gone(claim: str) -> None:
    text = " ".join(t for code in CATALOGUE for t in rendered(code)) + " ".join(ADVICE)
    assert claim not in text
