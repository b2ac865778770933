-- wrk script for tests/bench/records_bench.sh: POSTs "accept all" consents to the consent API
-- and counts the answers by status. Each request carries no token, so each is a new visitor and
-- a new record. Prints one line at the end:
--   records: ok=<200s> other=<non-200> statuses=<code:count,...>
wrk.method = "POST"
wrk.path = "/__consent/api/consent"
wrk.body = '{"all": true}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

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
   io.write(string.format("records: ok=%d other=%d statuses=%s\n", n200, nother, table.concat(parts, ",")))
end
