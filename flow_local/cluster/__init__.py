"""The cluster profile: PostgreSQL, S3-compatible object storage and a NATS cluster instead of the embedded engines."""
