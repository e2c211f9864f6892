-- wrk script for eng/bench-serve.sh: POST the body in env BODY, then print one JSON line with
-- requests/s, latency percentiles in ms and error counts (like ../shared/peers/fastapi_peer/post_predict.lua).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")

function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      'SUMMARY {"requests": %d, "seconds": %.2f, "requests_per_s": %.1f, ' ..
      '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
      '"errors": %d, "non2xx": %d}\n',
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
      latency.max / 1e3, e.connect + e.read + e.write + e.timeout, e.status))
end
