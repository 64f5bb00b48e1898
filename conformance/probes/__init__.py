"""Probes fetch: each talks to Jira (or to the network on the way) and returns Evidence.

Probes never judge; the checks in ``conformance/checks/`` do. One module per area.

Each probe declares the facts it can set as a TypedDict next to it, named after the probe:
``AREA.NAME`` is ``conformance.probes.AREA.<Name>Facts``, the name in CamelCase ("network.tls"
is ``network.TlsFacts``, "search.import_sample" is ``search.ImportSampleFacts``), and returns
``Evidence[<Name>Facts]``. A probe builds its facts as that type and a check reads them typed,
so mypy checks every key where it is set and where it is read; tests/unit/test_probe_facts.py
checks that real runs set no key the type does not declare. Probes state what they observed
(facts, and a diagnosis record for an answer that was not what they asked for); checks build
the findings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from conformance.evidence import AnyEvidence

Facts = TypeVar("Facts")


def facts_type(probe: str) -> type:
    """The TypedDict that declares the facts of the probe named ``probe`` (see above)."""
    area, _, name = probe.partition(".")
    module = importlib.import_module(f"{__name__}.{area}")
    declared = getattr(module, "".join(p.capitalize() for p in name.split("_")) + "Facts")
    assert isinstance(declared, type)
    return declared


def facts_of(evidence: AnyEvidence, declared: type[Facts]) -> Facts:
    """The facts of evidence whose probe is known only by name (a report row's evidence list),
    typed as that probe declares them. A probe's own return is typed already
    (``Evidence[<Name>Facts]``); this is for evidence reached without it.

    A view, not a copy or a validation: the probe built the facts as this type.
    """
    if facts_type(evidence.probe) is not declared:
        raise TypeError(f"the facts of {evidence.probe} are not {declared.__name__}")
    return cast(Facts, evidence.facts)
