// Admin HTTP API, Prometheus exposition, config dump.
