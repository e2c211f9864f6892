-- wrk script for eng/soak.sh: POST the body in env BODY at a paced rate. Each connection waits DELAY_MS
-- milliseconds (env) before each request, so CONNECTIONS connections send at most CONNECTIONS * 1000 / DELAY_MS
-- requests per second (less by the service time): wrk2 is not available, and plain wrk sends as fast as it can.
-- Prints one JSON summary line like wrk_summary.lua.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
local pause = tonumber(os.getenv("DELAY_MS") or "0")

function delay()
   return pause
end

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
