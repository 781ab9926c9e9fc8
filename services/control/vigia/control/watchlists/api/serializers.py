"""Watch-list representations. Plates go in however they are written (``abc-1d23``) and are kept
normalised (``ABC1D23``); anything that is not a Brazilian plate is refused naming ``plate``."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from vigia.control.core.serializers import StrictModelSerializer
from vigia.control.watchlists import plates
from vigia.control.watchlists.models import PlateWatchlist, PlateWatchlistEntry


class PlateWatchlistSerializer(StrictModelSerializer):
    """A watch-list of an organization: ``deny`` lists raise alerts, ``allow`` lists let through."""

    entries = serializers.IntegerField(source="entry_count", read_only=True,
                                       help_text="How many plates the list holds (expired ones included).")

    class Meta:
        model = PlateWatchlist
        fields = ("id", "name", "kind", "description", "entries", "version", "created_at", "updated_at")
        read_only_fields = ("id", "version", "created_at", "updated_at")
        extra_kwargs = {"description": {"max_length": 2000}}

    def validate_name(self, value: str) -> str:
        org_id = self.context["request"].user.org_id
        taken = PlateWatchlist.objects.filter(org_id=org_id, name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("a watch-list with this name already exists")
        return value

    def to_representation(self, instance: PlateWatchlist) -> dict[str, Any]:
        if not hasattr(instance, "entry_count"):  # a row just created or updated, not annotated
            instance.entry_count = instance.entries.count()  # type: ignore[attr-defined]
        return super().to_representation(instance)


class PlateWatchlistEntrySerializer(StrictModelSerializer):
    """One plate on a watch-list, with a label and an optional expiry."""

    plate = serializers.CharField(max_length=16, help_text="ABC1234 or Mercosul ABC1D23; dashes, spaces "
                                  "and lower case are accepted and normalised away.")

    class Meta:
        model = PlateWatchlistEntry
        fields = ("id", "watchlist", "plate", "label", "expires_at", "created_at", "updated_at")
        read_only_fields = ("id", "watchlist", "created_at", "updated_at")

    def validate_plate(self, value: str) -> str:
        try:
            plate = plates.normalise(value)
        except plates.InvalidPlate as exc:
            raise serializers.ValidationError(str(exc)) from None
        watchlist: PlateWatchlist = self.context["watchlist"]
        taken = PlateWatchlistEntry.objects.filter(watchlist=watchlist, plate=plate)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(f"{plate} is already on this watch-list")
        return plate
