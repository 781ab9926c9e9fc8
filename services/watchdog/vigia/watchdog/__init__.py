"""vigia.watchdog: periodic health checks that act (restart frozen cameras; device health next)."""
