-- wrk script for records_bench.py part 3: a paced client that POSTs "accept all" consents (or, with
-- CG_STATE_ONLY=1, GETs /__consent/api/state) at CG_RATE requests/s in total, whatever the number of
-- connections: every time a connection is free, delay() schedules its next request at the next slot
-- of one evenly spaced timetable (LuaJIT's ffi reads CLOCK_MONOTONIC). A C client costs the machine
-- a fraction of the Python open-loop client's CPU, which on a 2-core box competes with the gateway
-- whose throughput part 3 measures. Prints at the end:
--   paced: ok=<200s> other=<non-200> p50_us=<> p99_us=<> max_us=<>
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } cg_timespec_t;
int clock_gettime(int clk, cg_timespec_t *ts);
]]
local ts = ffi.new("cg_timespec_t")
local function now_ms()
   ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local interval = 1000 / (tonumber(os.getenv("CG_RATE") or "1000") or 1000)
local due = nil

if os.getenv("CG_STATE_ONLY") == "1" then
   wrk.method = "GET"
   wrk.path = "/__consent/api/state"
else
   wrk.method = "POST"
   wrk.path = "/__consent/api/consent"
   wrk.body = '{"all": true}'
   wrk.headers["Content-Type"] = "application/json"
end
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

local threads = {}
function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   ok = 0
   other = 0
end

function delay()
   local t = now_ms()
   if due == nil or due < t - 1000 then
      due = t -- start, or more than a second behind: do not burst to catch up
   end
   due = due + interval
   local d = due - t
   return d > 0 and math.floor(d) or 0
end

function response(status, headers, body)
   if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
   local n200, nother = 0, 0
   for _, t in ipairs(threads) do
      n200 = n200 + t:get("ok")
      nother = nother + t:get("other")
   end
   io.write(string.format("paced: ok=%d other=%d p50_us=%d p99_us=%d max_us=%d\n", n200, nother,
      latency:percentile(50), latency:percentile(99), latency.max))
end
