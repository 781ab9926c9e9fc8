"""Network layer of the gateway: the phone WebSocket, the HTTP batch fallback, operations."""
