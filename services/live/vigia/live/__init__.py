"""vigia.live: the operators' WebSocket feed (detections, events, device and camera status)."""
