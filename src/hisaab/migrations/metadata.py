"""Every table's model, imported so that Alembic (and `alembic check`) sees all of them."""

from hisaab.audit import models as _audit  # noqa: F401
from hisaab.billing import models as _billing  # noqa: F401
from hisaab.catalog import models as _catalog  # noqa: F401
from hisaab.clocks import models as _clocks  # noqa: F401
from hisaab.core import idempotency as _idempotency  # noqa: F401
from hisaab.customers import models as _customers  # noqa: F401
from hisaab.db import Base
from hisaab.entitlements import models as _entitlements  # noqa: F401
from hisaab.invoicing import models as _invoicing  # noqa: F401
from hisaab.ledger import models as _ledger  # noqa: F401
from hisaab.mail import models as _mail  # noqa: F401
from hisaab.payments import models as _payments  # noqa: F401
from hisaab.subscriptions import models as _subscriptions  # noqa: F401
from hisaab.tenants import models as _tenants  # noqa: F401
from hisaab.usage import models as _usage  # noqa: F401
from hisaab.webhooks import models as _webhooks  # noqa: F401

target_metadata = Base.metadata
