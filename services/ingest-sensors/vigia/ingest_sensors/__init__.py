"""ingest-sensors: the WebSocket/HTTP gateway through which phones stream sensor packets and audio."""
