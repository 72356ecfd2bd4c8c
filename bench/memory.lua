-- wrk script for bench/memory.py and bench/instances.py: a mix of requests, with bodies and
-- per-line authentication, and an exact request count.
--   BENCH_REQUESTS  file of tab-separated lines "METHOD<TAB>PATH<TAB>AUTH[<TAB>JSON BODY]";
--                   AUTH is "-" (none), "t" (this thread's token) or "x" (a forged token)
--   BENCH_TOKENS    comma-separated tokens; thread n sends token n
--   BENCH_START     index to start at in the list (so consecutive runs continue the cycle)
--   BENCH_LIMIT     each thread stops after this many responses (0: run for the duration)
-- done() prints "WRKJSON {...}": counts, latency percentiles (microseconds), statuses.

local requests_file = os.getenv("BENCH_REQUESTS")
local start = tonumber(os.getenv("BENCH_START") or "0")
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")
local tokens = {}
for token in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^,]+") do
  tokens[#tokens + 1] = token
end
local statuses = { 200, 201, 204, 401, 403, 404, 405, 422, 429 }

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_index", #threads)
end

function init(args)
  local token = tokens[((thread_index - 1) % math.max(#tokens, 1)) + 1]
  prepared = {}
  for line in io.lines(requests_file) do
    local method, path, auth, body = line:match("^(%u+)\t(%S+)\t([-tx])\t?(.*)$")
    if method then
      local headers = { ["Accept"] = "application/json" }
      if auth == "t" and token then
        headers["Authorization"] = "Token " .. token
      elseif auth == "x" then
        headers["Authorization"] = "Token forged.not.a-jwt"
      end
      if body ~= "" then
        headers["Content-Type"] = "application/json"
      else
        body = nil
      end
      prepared[#prepared + 1] = wrk.format(method, path, headers, body)
    end
  end
  sent, received, other = start, 0, 0
  for _, code in ipairs(statuses) do
    _G["s" .. code] = 0
  end
end

function request()
  sent = sent + 1
  return prepared[((sent - 1) % #prepared) + 1]
end

function response(status, headers, body)
  received = received + 1
  local name = "s" .. status
  if _G[name] ~= nil then
    _G[name] = _G[name] + 1
  else
    other = other + 1
  end
  if limit > 0 and received >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, code in ipairs(statuses) do
    local total = 0
    for _, thread in ipairs(threads) do
      total = total + thread:get("s" .. code)
    end
    counts[#counts + 1] = string.format('"%d": %d', code, total)
  end
  local rest = 0
  for _, thread in ipairs(threads) do
    rest = rest + thread:get("other")
  end
  counts[#counts + 1] = string.format('"other": %d', rest)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, table.concat(counts, ", ")))
end
