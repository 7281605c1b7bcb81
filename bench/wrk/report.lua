-- Shared by every scenario: print one JSON line wrk's Python caller parses. The mean latency with the rate tells
-- whether every connection was answered throughout (bench/harness.py served_throughout).
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "mean_ms": %.2f, "bytes": %d}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.mean / 1000, summary.bytes))
end
