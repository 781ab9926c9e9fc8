"""The control image's settings models, listed for the README's settings table (entry point
``vigia.settings``)."""

from vigia.control.cameras.mediamtx import MediaMTXSettings
from vigia.control.config import ControlSettings
from vigia.control.observations.plates import PlateSearchSettings
from vigia.control.observations.timeseries import TimeSeriesSettings
from vigia.control.pipelines.hook_limits import HookSettings
from vigia.control.tenancy.lockouts import SignInSettings

MODELS = (ControlSettings, TimeSeriesSettings, PlateSearchSettings, MediaMTXSettings, SignInSettings, HookSettings)
