"""`GET /payouts/export/tax-report`: a year's mining income of an address (or a participant's address) as
CSV in the generic, Koinly, CoinTracker or CoinTracking format (schemas.tax_formats). Needs `read`; a
non-admin only for the address of a participant it owns (others' are NOT_FOUND)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from litestar.response import Stream

from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.errors import InvalidRequest
from api.paging import Id
from api.security import Permission, requires
from api.services.participants import ParticipantService
from api.services.prices import code
from api.services.registry import Actor
from api.services.tax_report import ReportQuery, TaxReportService

RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES}


class PayoutsExportController(Controller):
    path = "/payouts/export"
    tags = ["payouts"]

    @get("/tax-report", summary="A year's mining income as CSV (generic, koinly, cointracker, cointracking)",
         responses=RESPONSES, guards=[requires(Permission.READ)], media_type="text/csv")
    async def tax_report(self, actor: Actor, participant_service: ParticipantService,
                         tax_report_service: TaxReportService,
                         year: Annotated[int, Parameter(ge=2009, le=2200, description="calendar year (UTC)")],
                         address: str | None = None, participant_id: Id | None = None,
                         format: str = "generic",  # noqa: A002
                         fiat: str = "USD", basis: str = "payout") -> Stream:
        if (address is None) == (participant_id is None):
            raise InvalidRequest("give exactly one of address and participant_id", details={"field": "address"})
        if participant_id is not None:
            owned = await participant_service.owned(actor, participant_id)
            address = owned.ton_wallet_address
        elif not actor.admin:
            assert address is not None
            await participant_service.by_wallet(actor, address)  # NotFound unless the caller owns it
        assert address is not None
        try:
            query = ReportQuery((address,), year, format, code(fiat, "fiat"), basis)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        lines = await tax_report_service.lines(query)
        name = f"tax-report-{year}-{query.fmt}.csv"
        return Stream(iter(lines), media_type="text/csv",
                      headers={"Content-Disposition": f'attachment; filename="{name}"'})
