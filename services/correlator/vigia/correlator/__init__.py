"""vigia.correlator: joins anomalies and person detections of one site into incidents (events),
and bundles each incident's evidence (video, audio, sensor table, metadata) in the object store."""
