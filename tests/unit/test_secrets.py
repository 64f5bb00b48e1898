"""The redactor finds a secret in every form it can take in an artefact."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.secrets import MASK, Redactor, Secret, encoded_forms


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
    ]
    for sample in samples:
        scrubbed = redactor.scrub(sample)
        for form in encoded_forms(secret):
            assert form not in scrubbed
