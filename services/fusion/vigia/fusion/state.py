"""Per-device detector state, kept in memory by the one worker that owns the device's shard.

Each device has its detectors, its anomaly gate and the highest packet / audio sequence number it
has analysed: a packet redelivered by the broker or resent by the phone is stored again (the
telemetry key makes that harmless) but not analysed twice. Devices silent for ``idle_s`` are
forgotten; a restarted worker rebuilds the windows from the next packets.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from vigia.fusion.config import FusionSettings
from vigia.fusion.detectors import AudioAnomalyDetector, ImuAnomalyDetector, MagneticAnomalyDetector
from vigia.fusion.gate import AnomalyGate


@dataclass
class DeviceState:
    magnetic: MagneticAnomalyDetector
    imu: ImuAnomalyDetector
    audio: AudioAnomalyDetector
    gate: AnomalyGate
    last_packet_seq: int = -1
    last_audio_seq: int = -1
    humanoid: bool = False
    touched: float = field(default_factory=time.monotonic)


class DeviceStates:
    """The devices this worker has seen, least recently used first."""

    def __init__(self, settings: FusionSettings) -> None:
        self.settings = settings
        self._states: OrderedDict[uuid.UUID, DeviceState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def new_state(self) -> DeviceState:
        s = self.settings
        return DeviceState(
            magnetic=MagneticAnomalyDetector(s.fusion_magnetic_window, s.fusion_magnetic_sigma,
                                             min_samples=s.fusion_min_samples, min_std=s.fusion_magnetic_min_std),
            imu=ImuAnomalyDetector(s.fusion_imu_window, s.fusion_imu_sigma, min_samples=s.fusion_min_samples,
                                   acc_min_std=s.fusion_imu_acc_min_std, gyro_min_std=s.fusion_imu_gyro_min_std),
            audio=AudioAnomalyDetector(s.fusion_audio_window_s, prominence_db=s.fusion_audio_prominence_db,
                                       min_level_db=s.fusion_audio_min_level_db,
                                       voice_min_fraction=s.fusion_voice_min_frames),
            gate=AnomalyGate(s.fusion_anomaly_cooldown_s),
        )

    def get(self, device: uuid.UUID) -> DeviceState:
        now = time.monotonic()
        state = self._states.get(device)
        if state is None:
            state = self._states[device] = self.new_state()
        else:
            self._states.move_to_end(device)
        state.touched = now
        self._evict(now)
        return state

    def _evict(self, now: float) -> None:
        idle = self.settings.fusion_device_idle_s
        while self._states:
            device, oldest = next(iter(self._states.items()))
            if now - oldest.touched < idle:
                return
            del self._states[device]
