-- wrk script for eng/soak.sh: eng/peers/wrk_summary.lua (POST the body in env BODY, print one JSON summary line; its
-- path in env WRK_SUMMARY) at a paced rate: each connection waits DELAY_MS milliseconds (env) before each request, so
-- CONNECTIONS connections send at most CONNECTIONS * 1000 / DELAY_MS requests per second (less by the service time).
-- wrk2 is not available, and plain wrk sends as fast as it can.
dofile(os.getenv("WRK_SUMMARY"))
local pause = tonumber(os.getenv("DELAY_MS") or "0")

function delay()
   return pause
end
