"""Pure anomaly detectors: plain Python/numpy objects with no I/O, one instance per device.

* :mod:`.rolling` — O(1) rolling mean / standard deviation and the z-score severities of seed 002;
* :mod:`.magnetic` — magnetic magnitude against its rolling window (seed 000 §2.1);
* :mod:`.imu` — sudden acceleration or rotation against rolling windows;
* :mod:`.audio` — Welch PSD infrasound / ultrasound and LPC voice formants (seed 000 §2.2).
"""

from vigia.fusion.detectors.audio import AudioAnomalyDetector, AudioFinding, analyze_spectrum, analyze_voice
from vigia.fusion.detectors.imu import ImuAnomalyDetector, ImuFinding
from vigia.fusion.detectors.magnetic import MagneticAnomalyDetector, MagneticFinding
from vigia.fusion.detectors.rolling import RollingStats, severity_for_z

__all__ = [
    "AudioAnomalyDetector", "AudioFinding", "ImuAnomalyDetector", "ImuFinding", "MagneticAnomalyDetector",
    "MagneticFinding", "RollingStats", "analyze_spectrum", "analyze_voice", "severity_for_z",
]
