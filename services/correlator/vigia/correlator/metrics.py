"""Prometheus metrics of the correlator."""

from prometheus_client import Counter, Gauge, Histogram

SIGNALS = Counter("correlator_signals_total", "Signals taken into a site's window, by kind", ["kind"])
IGNORED = Counter("correlator_messages_ignored_total", "Messages on correlator.in that carry no signal "
                  "or name an unknown device/camera, by reason", ["reason"])
EVENTS = Counter("correlator_events_total", "Event messages published, by change "
                 "(created, updated, closed; scored: re-published with its evidence's false-alarm score)", ["change"])
OPEN_INCIDENTS = Gauge("correlator_open_incidents", "Incidents open right now")
DECISION_SECONDS = Histogram("correlator_decision_seconds", "From a signal's message time to its event "
                             "message being confirmed by the broker",
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
EVIDENCE = Counter("correlator_evidence_bundles_total", "Evidence jobs, by outcome (built, skipped: "
                   "already complete, failed)", ["outcome"])
EVIDENCE_SECONDS = Histogram("correlator_evidence_build_seconds", "Time to build one evidence bundle",
                             buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
FALSE_ALARM_SCORES = Counter("correlator_false_alarm_scores_total", "Events scored by the organization's active "
                             "false-alarm classifier, by source (live: from the incident's sources; bundle: from "
                             "its built evidence bundle) and outcome (scored; marked: at or above the organization's "
                             "threshold, a likely false alarm; failed: the event went unscored)", ["source", "outcome"])
