"""事项: search the catalog (clerk aliases such as 低保 work), list, and an item's full 办事指南."""

from __future__ import annotations

from flask import g, render_template, request

from edgenode.web import auth
from edgenode.web.ui import blueprint

LIST_LIMIT = 100


@blueprint.route("/items")
@auth.requires("catalog.view")
def items():
    from edgenode.catalog_store import current_version, list_items, search_items

    query = request.args.get("q", "").strip()[:100]
    if query:
        found = search_items(g.node.store, query, limit=LIST_LIMIT)
    else:
        found = list_items(g.node.store, limit=LIST_LIMIT)
    return render_template("items.html", query=query, items=found, limit=LIST_LIMIT,
                           version=current_version(g.node.store))


@blueprint.route("/items/<code>")
@auth.requires("catalog.view")
def item(code: str):
    from edgenode.catalog_store import get_item

    from edgenode.errors import CatalogError

    try:
        found, version, offered = get_item(g.node.store, code[:64])
    except CatalogError as exc:
        raise auth.PageError(404, "WEB_013", "目录中没有这个事项", hint=exc.hint) from None
    return render_template("item.html", item=found, version=version, offered=offered)
