"""Every table's model, imported so that Alembic (and `alembic check`) sees all of them."""

from hisaab.audit import models as _audit  # noqa: F401
from hisaab.clocks import models as _clocks  # noqa: F401
from hisaab.core import idempotency as _idempotency  # noqa: F401
from hisaab.db import Base
from hisaab.tenants import models as _tenants  # noqa: F401

target_metadata = Base.metadata
