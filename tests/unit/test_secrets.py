"""The redactor finds a secret in every form it can take in an artefact."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.secrets import (
    FRAGMENT_CHARS,
    MASK,
    Redactor,
    Secret,
    encoded_forms,
    login_forms,
)


def test_secret_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))


@pytest.mark.parametrize("prefix", ["", "u", "us", "user:", "visor-bot:"])
def test_base64_of_a_longer_text_containing_the_secret_is_scrubbed(prefix: str) -> None:
    redactor = Redactor()
    redactor.register("pa55w0rd-!x")
    blob = base64.b64encode(f"{prefix}pa55w0rd-!x and more".encode()).decode()
    scrubbed = redactor.scrub(f"Authorization: Basic {blob}")
    assert MASK in scrubbed
    assert redactor.leaks(scrubbed) == []


def test_url_encoded_and_plain_forms_are_scrubbed() -> None:
    redactor = Redactor()
    redactor.register(Secret("a b/c+d&e"))
    text = f"?token={quote('a b/c+d&e', safe='')} and plain a b/c+d&e"
    assert redactor.leaks(redactor.scrub(text)) == []
    assert "a b/c+d&e" not in redactor.scrub(text)


def test_nested_json_is_scrubbed_including_keys() -> None:
    redactor = Redactor()
    redactor.register("topsecret")
    data = {"a": ["x topsecret y", {"topsecret": 1}], "b": 2}
    assert "topsecret" not in str(redactor.scrub_obj(data))


def test_short_values_are_not_registered() -> None:
    redactor = Redactor()
    redactor.register("ab", None, "")
    assert redactor.scrub("ab ab") == "ab ab"


@given(st.text(min_size=4, max_size=40), st.text(max_size=20), st.text(max_size=20))
def test_no_encoded_form_survives_scrubbing(secret: str, before: str, after: str) -> None:
    redactor = Redactor()
    redactor.register(secret)
    raw = (before + secret + after).encode()
    samples = [
        before + secret + after,
        base64.b64encode(raw).decode(),
        quote(before + secret + after, safe=""),
        quote(before + secret + after),
        repr(before + secret + after),
    ]
    for sample in samples:
        # The mask's own characters are no leak (a secret of asterisks is found in it).
        scrubbed = redactor.scrub(sample).replace(MASK, "\0")
        for form in encoded_forms(secret):
            assert form not in scrubbed


@pytest.mark.parametrize("secret", ["a/b c", "x'y\"z\\w", "p€ss\nwörd", "tab\there"])
def test_escaped_forms_are_scrubbed(secret: str) -> None:
    import json

    redactor = Redactor()
    redactor.register(secret)
    samples = [
        quote(secret),  # RFC 3986 path encoding keeps "/"
        quote(secret, safe=""),
        repr(secret),
        repr((secret,)),
        json.dumps(secret),
        json.dumps(secret, ensure_ascii=False),
        json.dumps({"k": repr(secret)}),
    ]
    for sample in samples:
        scrubbed = redactor.scrub(f"before {sample} after")
        assert MASK in scrubbed and redactor.leaks(scrubbed) == [], sample


@pytest.mark.parametrize("password", ["a", "ab", "abc", "abcd"])
def test_header_forms_of_short_passwords_are_scrubbed(password: str) -> None:
    redactor = Redactor()
    redactor.register_login("visor-bot", Secret(password))
    header = "Basic " + base64.b64encode(f"visor-bot:{password}".encode()).decode()
    for sample in (header, header.split()[1], base64.b64encode(f"x {header} y".encode()).decode()):
        assert header.split()[1] not in redactor.scrub(sample)
        assert MASK in redactor.scrub(sample)
    assert "visor-bot" in redactor.scrub("user visor-bot logged in"), "the user name stays"


def test_a_truncated_long_token_is_scrubbed() -> None:
    import reprlib

    token = "Zk9" + "q7Rw2Lp8" * 40
    redactor = Redactor()
    redactor.register(token)
    short_repr = reprlib.Repr()
    short_repr.maxstring = 240
    cut = short_repr.repr(token)
    pytest_style = repr(token)[:118] + "..." + repr(token)[-119:]
    for sample in (cut, pytest_style, token[:30], token[-30:]):
        scrubbed = redactor.scrub(f"locals: auth = {sample}")
        assert not any(token[i : i + 16] in scrubbed for i in range(len(token) - 16)), sample


def test_a_long_user_name_is_not_masked_as_a_fragment() -> None:
    redactor = Redactor()
    redactor.register_login("visor-bot@example.com", Secret("a-long-enough-secret"))
    assert redactor.scrub("bot visor-bot@example.com") == "bot visor-bot@example.com"


def test_a_lone_surrogate_does_not_make_redaction_raise() -> None:
    redactor = Redactor()
    redactor.register_login("visor-bot", Secret("pass\udcffword"))
    assert MASK in redactor.scrub("x pass\udcffword y")


# -- issue 23: redaction is linear in the text, whatever the secrets look like ---------------------


def reference_spans(redactor: Redactor, user: str | None, secret: str, text: str) -> set[int]:
    """The positions to mask, found the slow obvious way: every occurrence of every form (the
    secret's and its login forms), and every 16-character window of one of the secret's own
    long forms."""
    own = encoded_forms(secret) if len(secret) >= 3 else set()
    forms = own | (login_forms(user, secret) if user is not None else set())
    masked: set[int] = set()
    for form in forms:
        start = text.find(form)
        while start >= 0:
            masked.update(range(start, start + len(form)))
            start = text.find(form, start + 1)
    long_own = [f for f in own if len(f) >= FRAGMENT_CHARS]
    for j in range(len(text) - FRAGMENT_CHARS + 1):
        window = text[j : j + FRAGMENT_CHARS]
        if any(window in form for form in long_own):
            masked.update(range(j, j + FRAGMENT_CHARS))
    return masked


def positions(spans: list[tuple[int, int]]) -> set[int]:
    return {i for start, end in spans for i in range(start, end)}


SELF_SIMILAR = st.text(alphabet="ab:", min_size=3, max_size=40)


@given(secret=SELF_SIMILAR, user=st.one_of(st.none(), SELF_SIMILAR), text=st.data())
def test_what_is_masked_is_exactly_every_occurrence_and_every_long_window(
    secret: str, user: str | None, text: st.DataObject
) -> None:
    """On self-similar secrets and texts (one or two letters, periods, overlaps), the linear
    scan masks exactly what the obvious quadratic search finds: nothing less, nothing more."""
    redactor = Redactor()
    if user is None:
        redactor.register(secret)
    else:
        redactor.register_login(user, secret)
    forms = sorted(encoded_forms(secret) | (login_forms(user, secret) if user else set()))
    pieces = st.sampled_from([*forms, "a", "b", ":", "YW", "Fh", "=", " ", "Basic "])
    sample = "".join(text.draw(st.lists(pieces, max_size=12)))
    assert positions(redactor.spans(sample)) == reference_spans(redactor, user, secret, sample)


ADVERSARIAL_SECRETS = {
    "one letter": "a" * 60_000,
    "dashes": "-" * 60_000,
    "two letters": "ab" * 30_000,
    "near period": ("a" * 999 + "b") * 60,
}


@pytest.mark.parametrize("kind", ["cookie", "password"])
@pytest.mark.parametrize("shape", list(ADVERSARIAL_SECRETS))
def test_a_60000_character_secret_costs_work_linear_in_the_text(shape: str, kind: str) -> None:
    """The work (lookups, finds, matches, characters of a periodic run) per character of text
    stays below a constant for every shape of secret and text, and doubling the text doubles
    it: no term grows with the secret's length."""
    cookie = ADVERSARIAL_SECRETS[shape]
    redactor = Redactor()
    if kind == "cookie":
        redactor.register_login("visor-bot", Secret("visor-bot-password"))
        redactor.register(cookie)
    else:  # its login forms (user:secret, Basic ...) are masked whole: found by str.find
        cookie = cookie[:20_000]  # 40 forms of it: registering is the slow part here
        redactor.register_login("visor-bot", Secret(cookie))
    header = base64.b64encode(f"visor-bot:{cookie[:6000]}".encode()).decode()
    pieces = [cookie[:5000], "-" * 80, "a" * 3000, "visor-bot:" * 30, "ab" * 700, header]
    for piece in pieces:
        text = piece * 8
        redactor.work = 0
        redactor.scrub(text)
        once = redactor.work
        redactor.work = 0
        redactor.scrub(text * 2)
        twice = redactor.work
        assert once <= 3 * len(text) + 200, (piece[:20], once)
        assert twice <= 2 * once + 200, (piece[:20], once, twice)
    scrubbed = redactor.scrub(f"Cookie: JSESSIONID={cookie}; path=/")
    assert scrubbed.startswith("Cookie: JSESSIONID=*") and cookie[:16] not in scrubbed
