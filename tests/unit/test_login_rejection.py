"""What counts as a refused login for the latch: status and headers, never the language."""

from __future__ import annotations

import pytest

from conformance.http import is_login_rejection

DISABLED = {
    "en": "Basic authentication has been disabled on this instance.",
    "de": "Die Basisauthentifizierung wurde auf dieser Instanz deaktiviert.",
    "ja": "このインスタンスでは基本認証が無効になっています。",
    "none": "",
}


@pytest.mark.parametrize("language", DISABLED)
def test_a_403_to_the_first_login_is_a_refusal_in_any_language(language: str) -> None:
    body = f'{{"errorMessages":["{DISABLED[language]}"],"errors":{{}}}}'
    assert is_login_rejection(403, {}, body, login_proven=False)


def test_after_an_accepted_login_a_403_refuses_an_action_not_the_login() -> None:
    body = '{"errorMessages":["You do not have the permission to see the specified issue."]}'
    assert not is_login_rejection(403, {}, body, login_proven=True)
    assert is_login_rejection(403, {}, DISABLED["en"], login_proven=True)


@pytest.mark.parametrize("proven", [False, True])
def test_seraph_headers_and_401_always_refuse(proven: bool) -> None:
    assert is_login_rejection(
        200, {"X-Seraph-LoginReason": "AUTHENTICATION_DENIED"}, "", login_proven=proven
    )
    assert is_login_rejection(401, {}, "", login_proven=proven)
    assert not is_login_rejection(200, {}, "{}", login_proven=proven)
