"""Operating the service: metrics, request ids and structured logs, health probes, tracing (docs/operations.md)."""
