from django.db import models


class Role(models.TextChoices):
    """What a user may do inside their organization; each role includes the ones below it."""

    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


# By plain value (a Role is a str): no Role() lookup nor choices list per permission check.
_RANK_BY_VALUE: dict[str, int] = {str(role.value): rank for role, rank in ROLE_RANK.items()}


def role_at_least(role: str, minimum: str) -> bool:
    """Whether ``role`` includes ``minimum`` (an unknown ``role`` includes nothing; an unknown
    ``minimum`` is a programming error: ``ValueError``)."""
    rank = _RANK_BY_VALUE.get(role)
    floor = _RANK_BY_VALUE.get(minimum)
    if floor is None:
        raise ValueError(f"{minimum!r} is not a role")
    return rank is not None and rank >= floor
