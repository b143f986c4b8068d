"""Staff accounts, roles and web sessions (docs/adr/0014-web-ui.md).

`roles` holds the one permission table (which role may do which action) that every web route, the CLI and
the tests read; `staff` creates, checks and changes accounts (argon2id password hashes, lock-out after 5
failures); `sessions` issues and checks sign-in sessions (only a hash of the token is stored).
"""

from edgenode.errors import EdgeNodeError


class AccountError(EdgeNodeError):
    """A staff account or sign-in request was refused (codes WEB_0xx); nothing was changed."""
