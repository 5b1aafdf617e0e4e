"""What a service process runs in the background: job slots and the sweep (runtime),
the scheduler, the webhook notifier, the reaper, the presence beat."""
