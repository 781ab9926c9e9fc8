"""Plate watch-lists: the vehicles an organization wants to hear about (deny: stolen, barred) or
lets through (allow: residents, staff). Pipelines' ``plate_match`` nodes read them."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Func, Value

from vigia.common.messages import Strict, WatchlistChanged, WatchlistDeleted
from vigia.common.plates import LOOK_ALIKE_FROM, LOOK_ALIKE_TO
from vigia.control.core.models import OrgScopedModel


class WatchlistKind(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"


class PlateWatchlist(OrgScopedModel):
    """A named list of plates of one organization, of one kind (allow or deny). Every change of
    the list or of its entries bumps ``version`` and announces ``watchlist.updated``."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=WatchlistKind.choices)
    description = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every change of the list or "
                                          "its entries; carried in messages.")

    class Meta:
        db_table = "plate_watchlists"
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=("org", "name"), name="plate_watchlists_unique_name")]

    message_prefix: ClassVar[str] = "watchlist"

    def __str__(self) -> str:
        return self.name

    def change_data(self, verb: str) -> Strict:
        """What the automation runtime hears: which list changed; it rereads the entries."""
        if verb == "deleted":
            return WatchlistDeleted(watchlist=self.id)
        return WatchlistChanged(watchlist=self.id, name=self.name, kind=self.kind, version=self.version)


class PlateWatchlistEntry(OrgScopedModel):
    """One plate on a watch-list, with a label saying who or what it is, until ``expires_at``
    (never, when null). The plate is normalised: upper case, no dash or space. Passages of the plate
    (OCR look-alikes included) seen before it expires are marked with its list."""

    # Unindexed: the (watchlist, plate) unique index leads with it.
    watchlist = models.ForeignKey(PlateWatchlist, on_delete=models.CASCADE, related_name="entries",
                                  db_index=False)
    plate = models.CharField(max_length=7, help_text="ABC1234 or ABC1D23.")
    label = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Not matched from this time on.")

    class Meta:
        db_table = "plate_watchlist_entries"
        ordering = ("plate", "id")
        constraints = [models.UniqueConstraint(fields=("watchlist", "plate"),
                                               name="plate_watchlist_entries_unique_plate")]
        indexes = [
            # The entries a passage's folded plate matches (vigia.control.observations.marking).
            models.Index(F("org"), Func(F("plate"), Value(LOOK_ALIKE_FROM), Value(LOOK_ALIKE_TO), function="translate"),
                         name="plate_watchlist_entries_folded"),
        ]

    def __str__(self) -> str:
        return self.plate
