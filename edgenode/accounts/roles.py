"""Roles and the permission table: the only place that says which role may do which action.

Every web route names one action (`@requires("case.receive")`); tests iterate over this table and over the
app's routes, so a route without an action, or an action missing here, fails them.
"""

from __future__ import annotations

ROLE_NAMES = {
    "clerk": "代办员",
    "reviewer": "审核员",
    "seal_custodian": "印章管理员",
    "admin": "管理员",
    "county_admin": "县级管理员",
}
# county_admin exists only on county (and province) nodes.
COUNTY_ONLY_ROLES = frozenset({"county_admin"})
COUNTY_NODE_ROLES = frozenset({"county", "province"})

_ALL = frozenset(ROLE_NAMES)
_COUNTER = frozenset({"clerk", "reviewer", "admin", "county_admin"})

# action -> roles allowed. Add the action here first, then use it on the route.
PERMISSIONS: dict[str, frozenset[str]] = {
    "home.view": _ALL,                                   # 首页
    "catalog.view": _ALL,                                # 事项: search, guide
    "case.view": _COUNTER,                               # 办件: list, timeline
    "case.scan": frozenset({"clerk", "reviewer", "county_admin"}),   # open a case's scans (personal documents)
    "case.receive": frozenset({"clerk", "reviewer", "admin"}),   # 收件
    "case.correct": frozenset({"clerk", "reviewer", "admin"}),
    "case.handover": frozenset({"clerk", "reviewer", "admin"}),
    "case.evaluate": frozenset({"clerk", "reviewer", "admin"}),  # the applicant's 好差评, at the counter
    "case.decide": frozenset({"reviewer", "county_admin"}),
    "sync.view": _ALL,                                   # 同步
    "sync.usb": frozenset({"clerk", "reviewer", "admin", "county_admin"}),   # 立即同步, U盘 export/import
    "sync.release": frozenset({"reviewer", "admin", "county_admin"}),  # packets set aside: release, dismiss, requeue
    "conflict.view": _COUNTER,                           # 冲突
    "conflict.resolve": frozenset({"reviewer", "admin", "county_admin"}),
    "seal.view": _ALL,                                   # 印章
    "seal.manage": frozenset({"seal_custodian"}),
    "staff.manage": frozenset({"admin", "county_admin"}),    # 人员
    "catalog.publish": frozenset({"county_admin"}),      # county: publish a release
    "node.enrol": frozenset({"county_admin"}),           # county: enrol nodes, issue certificates
}


def allowed(role: str | None, action: str) -> bool:
    """Whether `role` may do `action`. An unknown action is a programming error (KeyError)."""
    return role is not None and role in PERMISSIONS[action]


def roles_for_node(node_role: str) -> list[str]:
    """The staff roles that can exist on a node of this role."""
    return [r for r in ROLE_NAMES if r not in COUNTY_ONLY_ROLES or node_role in COUNTY_NODE_ROLES]
