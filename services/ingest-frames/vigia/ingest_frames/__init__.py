"""ingest-frames: the HTTP gateway through which cameras and streamers push frames."""
