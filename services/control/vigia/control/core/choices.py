from django.db import models


class Role(models.TextChoices):
    """What a user may do inside their organization; each role includes the ones below it."""

    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK.get(Role(role), -1) >= ROLE_RANK[Role(minimum)] if role in Role.values else False
