"""The base class of the endpoint mixins: the ``JiraApp`` state they read, declared for typing,
and the project/issue visibility look-ups that several endpoint areas share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request

from ..auth import Authenticator
from ..http_helpers import Ctx
from ..scenarios import ScenarioConfig
from ..world import Project, World


class EndpointBase:
    """What an endpoint mixin may use; ``JiraApp.__init__`` sets these attributes."""

    cfg: ScenarioConfig
    world: World
    auth: Authenticator
    search_max_results: int
    search_total_offset: int
    search_repeat_page_at: int | None

    if TYPE_CHECKING:
        # Defined on JiraApp; declared here only so the mixins type-check.
        def base_url(self, request: Request) -> str: ...

        def login_url(self, request: Request) -> str: ...

    def _visible_project(self, ctx: Ctx, ident: str) -> Project | None:
        p = self.world.project(ident)
        if p is None or not self.world.has(ctx.user, "BROWSE_PROJECTS", p):
            return None
        return p

    def _issue_ref(self, ctx: Ctx, key: str) -> tuple[Project, int] | None:
        ref = self.world.parse_key(key)
        if ref is None or not self.world.has(ctx.user, "BROWSE_PROJECTS", ref[0]):
            return None
        return ref


__all__ = ["EndpointBase"]
