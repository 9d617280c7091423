"""The paging dependency of every list endpoint: `?page=` (1..) and `?limit=` (1..100, default 50).

Out-of-range or non-integer values are INVALID_REQUEST (400) with the parameter named in `details`. Use it
as a handler parameter `paging: Paging` and answer `Envelope(data=items, meta=meta.paged(paging, total))`.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from api.envelope import Paging

MAX_LIMIT = 100


def provide_paging(
    page: Annotated[int, Parameter(ge=1, le=1_000_000, description="page number, from 1")] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="items per page, at most 100")] = 50,
) -> Paging:
    return Paging(page=page, limit=limit)

#: A numeric resource id in a path (`/workers/{worker_id}`): 1 .. 2^63-1; anything else is INVALID_REQUEST.
Id = Annotated[int, Parameter(ge=1, le=2**63 - 1, description="numeric id, from 1")]
