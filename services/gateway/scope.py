"""Which units, queues and pathways a request may read: the token's limits and the filters."""

from __future__ import annotations

from services.common.i18n import N_
from services.common.tokens import Principal
from services.gateway.context import GatewayContext
from services.gateway.errors import ApiError
from services.gateway.periods import Selection


def visible_units(ctx: GatewayContext, who: Principal, sel: Selection) -> list[str] | None:
    """Unit ids to keep, or None for every unit (also units missing from the registry)."""
    if not who.limited and sel.unit_id is None and sel.service_area is None:
        return None
    units = {sel.unit_id} if sel.unit_id else {u.id for u in ctx.registry.units} | who.units
    if sel.service_area:
        units = {u for u in units if ctx.service_area_of(u) == sel.service_area}
    return sorted(u for u in units if who.sees(u, ctx.service_area_of(u)))


def visible_queues(ctx: GatewayContext, who: Principal, sel: Selection) -> list[str] | None:
    """Queue ids to keep, or None for every queue."""
    units = visible_units(ctx, who, sel)
    if units is None and sel.queue_id is None:
        return None
    queues = [q.id for q in ctx.registry.queues if units is None or q.unit in units]
    if sel.queue_id is None:
        return queues
    if units is not None and sel.queue_id not in queues:
        raise ApiError(
            404, "unknown_queue", N_("no queue {queue} you may read"), queue=sel.queue_id
        )
    return [sel.queue_id]
