"""The rewards resource's Router at `/api/v1/rewards` (seed 003): its controllers, its dependencies
(`rewards`: the RewardsContext; `page_query`: seed paging), its RFC 7807 exception handler and its per-role
rate limiter. Registered in api/plugin.py.

To add endpoints: write a Controller in your module of api/rewards/ and append it to `CONTROLLERS` (one
line; keep the list sorted by module). Handlers take `rewards: RewardsContext`, `caller: Principal` (the
app's dependency), `request` for the client IP, `page_query: PageQuery` for lists, and answer msgspec structs
in the seed's shapes (camelCase via `rename="camel"`), never the pool envelope.
"""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.types import ControllerRouterHandler

from api.rewards.access import RewardsRateLimit
from api.rewards.approval import ApprovalController
from api.rewards.audit import AuditController
from api.rewards.batches import BatchesController
from api.rewards.calculation import CalculationController
from api.rewards.context import RewardsContext
from api.rewards.contributions import ContributionsController
from api.rewards.distribution import DistributionController
from api.rewards.factors import FactorsController
from api.rewards.holdings import HoldingsController
from api.rewards.limits import LimitsController
from api.rewards.market import MarketPriceController
from api.rewards.movements import MovementsController
from api.rewards.paging import provide_page_query
from api.rewards.problems import problem_handler
from api.rewards.reports import ReportsController
from api.rewards.testing import TestingController

PATH = "/api/v1/rewards"

CONTROLLERS: list[ControllerRouterHandler] = [
    ApprovalController,
    AuditController,
    BatchesController,
    CalculationController,
    ContributionsController,
    DistributionController,
    FactorsController,
    HoldingsController,
    LimitsController,
    MarketPriceController,
    MovementsController,
    ReportsController,
]


def build_router(ctx: RewardsContext, *, rate_limit_enabled: bool = True) -> Router:
    return Router(
        PATH,
        # seed 003's test endpoints exist only when switched on (SFR_TEST_ENDPOINTS); otherwise 404
        route_handlers=[*CONTROLLERS, *([TestingController] if ctx.settings.test_endpoints else [])],
        dependencies={"rewards": Provide(lambda: ctx, sync_to_thread=False),
                      "page_query": Provide(provide_page_query, sync_to_thread=False)},
        exception_handlers={Exception: problem_handler(ctx.clock)},
        middleware=[RewardsRateLimit(ctx.settings, ctx.clock, enabled=rate_limit_enabled)],
        tags=["rewards"],
    )
