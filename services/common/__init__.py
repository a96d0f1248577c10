"""The runtime every Kanava service shares: settings, registry, events, database, consumer loop."""
