"""Every Jira endpoint handler, one module per area, as mixins that ``JiraApp`` combines.

To find the handler for a route, look up its endpoint name in ``app._rules()``; the method is
``ep_<name>`` in the module for that area:

=================  ===========================================================================
``pages``          /status, /, /login.jsp, /secure/Dashboard.jspa, /secure/*, the SSO IdP page
``identity``       serverInfo, myself, user, /rest/auth/1/session, /rest/pat/*/tokens
``permissions``    mypermissions, permissions, permissionscheme, project/{key}/permissionscheme
``projects``       project, project/search, field, priority, status, statuscategory, issuetype,
                   resolution
``search``         search (Data Center), search/jql (Cloud)
``issues``         issue (create/get/edit/delete), comment, transitions
``meta``           issue/createmeta (old and paged), issue/{key}/editmeta
=================  ===========================================================================
"""

from .base import EndpointBase
from .identity import IdentityEndpoints
from .issues import IssueEndpoints
from .meta import MetaEndpoints
from .pages import PagesEndpoints
from .permissions import PermissionEndpoints
from .projects import ProjectEndpoints
from .search import SearchEndpoints

__all__ = [
    "EndpointBase",
    "IdentityEndpoints",
    "IssueEndpoints",
    "MetaEndpoints",
    "PagesEndpoints",
    "PermissionEndpoints",
    "ProjectEndpoints",
    "SearchEndpoints",
]
