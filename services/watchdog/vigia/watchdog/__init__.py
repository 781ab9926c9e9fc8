"""vigia.watchdog: periodic health checks that act (restart frozen cameras, flag silent devices)."""
