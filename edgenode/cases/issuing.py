"""The counter's documents for a case, sealed: render each notice the fold lists, seal it with the
node's seal, record it in the issuance log and the audit log, and keep the PDF under `notices/`.

The notice is issued after the case step has committed: a locked seal never loses an application. A
notice that could not be sealed stays pending and `case notice CASE` issues it later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgenode.catalog_store import get_item
from edgenode.cases.fold import CaseState

# Fold notice kinds → documents (edgenode.notices). A decision is a document only for a 即办 item,
# whose result is issued on the spot (a village certificate); other decisions are the deciding body's.
DOCUMENT_FOR = {"acceptance": "acceptance", "one_time": "one_time", "registration_receipt": "registration_receipt",
                "proxy_receipt": "proxy_receipt", "rejection": "rejection", "decision": "certificate"}


def pending_notices(node: Any, state: CaseState) -> list[dict[str, Any]]:
    """Notices of the case that have no sealed document yet, oldest first."""
    issued = {row["doc_no"] for row in node.store.query("SELECT doc_no FROM issuance WHERE case_id = ?", (state.case_id,))}
    pending = []
    for notice in state.notices:
        if notice["doc_no"] in issued:
            continue
        if notice["kind"] == "decision" and not state.item.get("immediate"):
            continue
        pending.append({**notice, "document": DOCUMENT_FOR[notice["kind"]]})
    return pending


def _issuer(node: Any, seal: Any, staff: str) -> dict[str, Any]:
    return {"node_name": node.config.name, "division": node.config.division, "seal_name": seal.name,
            "handler": staff, "phone": node.config.phone or "12345（政务服务便民热线）"}


def issue_case_notices(node: Any, state: CaseState, *, staff: str, pin: str | None = None) -> list[Path]:
    """Seal every pending notice of the case. Raises SealingError/SealError when the seal cannot be used."""
    from edgenode.notices import issue_notice, notice_from_case
    from edgenode.sealing.custody import current_seal
    from edgenode.sealing.records import issue_sealed_document
    from edgenode.sealing.trust import anchor_pems, crl_pems

    pending = pending_notices(node, state)
    if not pending:
        return []
    seal = current_seal(node)
    item, _, _ = get_item(node.store, state.item["code"], state.item["version"])
    paths = []
    for notice in pending:
        kind = notice["document"]

        def produce(signer: Any, node_seal: Any, now: Any, kind: str = kind, notice: dict = notice) -> Any:
            data = notice_from_case(state, kind, issuer=_issuer(node, node_seal, staff), doc_no=notice["doc_no"],
                                    issued_at=now, item=item)
            issued = issue_notice(data, signer, node_seal.chain, node_seal.image(node).png, now,
                                  trusted_cas=anchor_pems(node), crls=crl_pems(node))
            return issued.pdf, issued.use

        document = issue_sealed_document(
            node, staff=staff, kind=kind, case_id=state.case_id, doc_no=notice["doc_no"], produce=produce, pin=pin,
            path_for=lambda digest, kind=kind: node.home / "notices" / f"{state.case_no}-{kind}-{digest[:12]}.pdf")
        paths.append(document.path)
    return paths


def issue_after_step(node: Any, state: CaseState, *, staff: str, pin: str | None = None) -> dict[str, Any]:
    """After a case step has committed: seal its new notices now; if the seal cannot be used, say why
    (the case step stands and the notice stays pending). The CLI and the web UI both call this.

    Returns {"notice_file": last path or None, "notice_files": [paths], "notice_error": None or
    {"code", "message", "hint"}}. Errors other than our packages' coded ones propagate.
    """
    if not pending_notices(node, state):
        return {"notice_file": None, "notice_files": [], "notice_error": None}
    try:
        paths = issue_case_notices(node, state, staff=staff, pin=pin)
    except Exception as exc:  # noqa: BLE001 - our packages' errors become a pending notice, others propagate
        if type(exc).__module__.split(".")[0] not in ("edgenode", "seals") or not hasattr(exc, "code"):
            raise
        error = {"code": exc.code, "message": exc.message, "hint": getattr(exc, "hint", None)}
        return {"notice_file": None, "notice_files": [], "notice_error": error}
    return {"notice_file": paths[-1], "notice_files": paths, "notice_error": None}
