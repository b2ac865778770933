-- wrk script of tests/bench/records_bench.py: POSTs "accept all" consents to the consent API (or,
-- with CG_STATE_ONLY=1, GETs /__consent/api/state) and counts the answers by status. Each request
-- carries no token, so each is a new visitor and a new record.
--   CG_RATE unset or 0: as fast as the connections allow (part 1).
--   CG_RATE=N: N requests/s in total, whatever the number of connections (part 3's recorder): each
--     time a connection is free, delay() schedules its next request at the next slot of one evenly
--     spaced timetable (LuaJIT's ffi reads CLOCK_MONOTONIC). A C client costs a fraction of the
--     Python open-loop client's CPU, which on a 2-core box competes with the gateway measured.
-- Prints one line at the end:
--   records: ok=<200s> other=<non-200> statuses=<code:count,...> p50_us=<> p99_us=<> max_us=<>
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

local rate = tonumber(os.getenv("CG_RATE") or "0") or 0
if rate > 0 then
   local ffi = require("ffi")
   ffi.cdef [[
   typedef struct { long tv_sec; long tv_nsec; } cg_timespec_t;
   int clock_gettime(int clk, cg_timespec_t *ts);
   ]]
   local ts = ffi.new("cg_timespec_t")
   local interval, due = 1000 / rate, nil
   function delay()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      local t = tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
      if due == nil or due < t - 1000 then
         due = t -- start, or more than a second behind: no burst to catch up
      end
      due = due + interval
      local d = due - t
      return d > 0 and math.floor(d) or 0
   end
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   ok = 0
   other = 0
   codes = {}
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
   else
      other = other + 1
      codes[status] = (codes[status] or 0) + 1
   end
end

function done(summary, latency, requests)
   local n200, nother, seen = 0, 0, {}
   for _, t in ipairs(threads) do
      n200 = n200 + t:get("ok")
      nother = nother + t:get("other")
      local c = t:get("codes")
      if c then
         for k, v in pairs(c) do seen[k] = (seen[k] or 0) + v end
      end
   end
   local parts = {}
   for k, v in pairs(seen) do table.insert(parts, k .. ":" .. v) end
   io.write(string.format("records: ok=%d other=%d statuses=%s p50_us=%d p99_us=%d max_us=%d\n", n200, nother,
      table.concat(parts, ","), latency:percentile(50), latency:percentile(99), latency.max))
end
