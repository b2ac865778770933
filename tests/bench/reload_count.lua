-- wrk script of reload_bench.py: at the end prints one line
--   CGRESULT requests=N errors=N status=N p50=us p99=us max=us slow=N
-- where slow counts the requests whose latency exceeded CG_SLOW_US microseconds (0: not counted).
-- Debian's wrk does not expose the histogram's buckets to scripts (latency[i] yields i), so the
-- count comes from latency:percentile(): the value at rank r (1 = fastest) is percentile(p) with
-- p = (r - 0.25) / n * 100 (wrk rounds p / 100 * n + 0.5 to the rank), non-decreasing in r; a
-- binary search finds the last rank at or below the threshold.
local slow_us = tonumber(os.getenv("CG_SLOW_US") or "0") or 0

local function at_rank(latency, n, r)
    return latency:percentile((r - 0.25) / n * 100)
end

function done(summary, latency, requests)
    local n = summary.requests
    local slow = 0
    if slow_us > 0 and n > 0 and latency.max > slow_us then
        local lo, hi = 0, n -- ranks 1..lo are <= slow_us; ranks > hi are > slow_us
        while lo < hi do
            local mid = math.floor((lo + hi + 1) / 2)
            if at_rank(latency, n, mid) <= slow_us then lo = mid else hi = mid - 1 end
        end
        slow = n - lo
    end
    local e = summary.errors
    io.write(string.format("CGRESULT requests=%d errors=%d status=%d p50=%d p99=%d max=%d slow=%d\n",
        n, e.connect + e.read + e.write + e.timeout, e.status,
        latency:percentile(50), latency:percentile(99), latency.max, slow))
end
