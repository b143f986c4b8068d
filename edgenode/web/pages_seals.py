"""印章: the seal's state (locked / unlocked until), its certificate's validity and days left, the revocation
list's age and next update; red warnings when the certificate is near expiry or the list stale."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, render_template

from edgenode.web import auth
from edgenode.web.ui import blueprint

EXPIRY_WARN_DAYS = 30      # a certificate with fewer days left is shown in red (renewal takes a county visit)
CRL_WARN_HOURS = 24        # a revocation list due for its next update within a day is shown in red
STATES = {"locked": "已上锁", "unlocked": "已解锁", "locked_out": "PIN 输错次数过多，暂时锁定"}


def seal_overview(node: Any) -> dict[str, Any]:
    """`seal_status` and the warnings staff must see; an unenrolled node has neither seal nor CA."""
    from edgenode.errors import EdgeNodeError
    from edgenode.sealing.custody import seal_status

    try:
        data = seal_status(node)
    except EdgeNodeError as exc:
        return {"enrolled": False, "problem": exc.message, "problem_code": exc.code, "warnings": []}
    warnings = []
    seal, crl = data["seal"], data["crl"]
    if seal is not None:
        if seal["days_left"] < 0:
            warnings.append(f"印章证书已于 {seal['not_after'][:10]} 过期，不能盖章：请到县级重新登记")
        elif seal["days_left"] <= EXPIRY_WARN_DAYS:
            warnings.append(f"印章证书将于 {seal['not_after'][:10]} 到期（剩 {seal['days_left']} 天），请尽快到县级续期")
        warnings.extend(seal["problems"])
    if crl is None:
        warnings.append("没有吊销列表：请与县级同步或导入吊销列表")
    else:
        if crl["stale"]:
            warnings.append(f"吊销列表已过期（应于 {crl['next_update'][:16].replace('T', ' ')} 更新），请尽快与县级同步")
        elif crl["next_update"]:
            left = (datetime.fromisoformat(crl["next_update"]) - node.now()).total_seconds() / 3600
            crl["hours_to_next"] = int(left)
            if left <= CRL_WARN_HOURS:
                warnings.append(f"吊销列表将于 {crl['next_update'][:16].replace('T', ' ')} 到期，请在此之前与县级同步")
    return {"enrolled": True, **data, "warnings": list(dict.fromkeys(warnings)),
            "expiring": seal is not None and seal["days_left"] <= EXPIRY_WARN_DAYS,
            "crl_due": crl is None or crl["stale"] or crl.get("hours_to_next", CRL_WARN_HOURS + 1) <= CRL_WARN_HOURS}


@blueprint.route("/seals")
@auth.requires("seal.view")
def seals():
    return render_template("seals.html", s=seal_overview(g.node), states=STATES, warn_days=EXPIRY_WARN_DAYS)
