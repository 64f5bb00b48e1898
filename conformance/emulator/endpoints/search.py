"""JQL search (DC's /search and Cloud's /search/jql), together because they share parameter
parsing and the JQL executor but differ in paging."""

from __future__ import annotations

import base64
import json
from typing import Any

from werkzeug.wrappers import Response

from .. import jql as jqlmod
from ..auth import json_response
from ..http_helpers import Ctx, _int, errors
from ..render import resolve_fields
from ..world import (
    FIELDS_BY_ID,
)
from .base import EndpointBase

CHANGE_2046 = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)


class SearchEndpoints(EndpointBase):
    """The two JQL search resources."""

    # -- search -------------------------------------------------------------------------------
    def _search_params(self, ctx: Ctx) -> dict[str, Any]:
        if ctx.request.method == "POST":
            body = ctx.json_object()
            fields = body.get("fields")
            if isinstance(fields, str):
                fields = [fields]
            expand = body.get("expand")
            if isinstance(expand, list):
                expand = ",".join(str(x) for x in expand)
            return {
                "jql": body.get("jql") or "",
                "startAt": body.get("startAt"),
                "maxResults": body.get("maxResults"),
                "fields": fields,
                "expand": expand or "",
                "nextPageToken": body.get("nextPageToken"),
            }
        a = ctx.request.args
        return {
            "jql": a.get("jql") or "",
            "startAt": a.get("startAt"),
            "maxResults": a.get("maxResults"),
            "fields": a.getlist("fields") if "fields" in a else None,
            "expand": ",".join(a.getlist("expand")),
            "nextPageToken": a.get("nextPageToken"),
        }

    def ep_search(self, ctx: Ctx) -> Response:
        """DC search: maxResults defaults to 50 and is clamped silently to the server maximum
        (1000); ``total`` is the true count. On Cloud the endpoint is gone: 410 CHANGE-2046."""
        if self.cfg.personality.cloud:
            return errors([CHANGE_2046], status=410)
        prm = self._search_params(ctx)
        start = _int(prm["startAt"], 0)
        if start < 0:
            start = 0
        size = _int(prm["maxResults"], 50)
        if size < 0:
            size = 50
        size = min(size, self.search_max_results)
        query = jqlmod.parse(str(prm["jql"]))
        result = jqlmod.Executor(self.world, ctx.user).run(query)
        total = len(result)
        page_start = start
        if self.search_repeat_page_at is not None and start == self.search_repeat_page_at:
            page_start = max(0, start - size)
        refs = result.page(page_start, size)
        fields = resolve_fields(prm["fields"] or [], "*navigable")
        expand = {e.strip() for e in str(prm["expand"]).split(",") if e.strip()}
        users = self.world.users
        issues = [ctx.r.issue(self.world.issue(p, n), users, fields, expand) for p, n in refs]
        body: dict[str, Any] = {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": total + self.search_total_offset,
            "issues": issues,
        }
        if "names" in expand:
            body["names"] = {f: FIELDS_BY_ID[f].name for f in fields}
        if "schema" in expand:
            body["schema"] = {f: ctx.r.schema(f) for f in fields}
        return json_response(body, 200)

    def ep_search_jql(self, ctx: Ctx) -> Response:
        """Cloud's enhanced search: ``nextPageToken`` (absent on the last page), ``isLast``,
        no ``total``; only ids unless ``fields`` is given. Not on Data Center (404)."""
        if not self.cfg.personality.cloud:
            url = ctx.request.host_url.rstrip("/") + ctx.request.path
            return json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
        prm = self._search_params(ctx)
        jql_text = str(prm["jql"] or "")
        query = jqlmod.parse(jql_text)
        if not jqlmod.restricts(query.where):
            return errors(
                [
                    "Unbounded JQL queries are not allowed here. Please add a search "
                    "restriction to your query."
                ]
            )
        token = prm.get("nextPageToken")
        start = 0
        if token:
            try:
                start = int(json.loads(base64.urlsafe_b64decode(str(token) + "==="))["o"])
            except (ValueError, KeyError, TypeError):
                return errors(["The provided next page token is invalid or expired."])
        field_values = [f for f in (prm["fields"] or []) if f]
        fields = resolve_fields(field_values, "*navigable") if field_values else []
        cap = 5000 if not fields else 100
        size = max(1, min(_int(prm["maxResults"], 50), cap))
        result = jqlmod.Executor(self.world, ctx.user).run(query)
        refs = result.page(start, size)
        expand = {e.strip() for e in str(prm["expand"]).split(",") if e.strip()}
        issues = []
        for p, n in refs:
            if fields:
                issues.append(ctx.r.issue(self.world.issue(p, n), self.world.users, fields, expand))
            else:
                issues.append({"id": str(p.issue_id(n))})
        body: dict[str, Any] = {"issues": issues}
        if start + size < len(result):
            body["nextPageToken"] = (
                base64.urlsafe_b64encode(json.dumps({"o": start + size}).encode())
                .decode()
                .rstrip("=")
            )
            body["isLast"] = False
        else:
            body["isLast"] = True
        return json_response(body, 200)


__all__ = ["SearchEndpoints"]
