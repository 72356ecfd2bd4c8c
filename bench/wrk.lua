-- wrk script for bench/run.py.
--   BENCH_REQUESTS  file of "METHOD PATH" lines, sent in turn (each thread starts at the top)
--   BENCH_TOKENS    comma-separated tokens; thread n sends token n (empty: anonymous)
-- done() prints one line "WRKJSON {...}" with the counts and latency percentiles (microseconds).

local requests_file = os.getenv("BENCH_REQUESTS")
local tokens = {}
for token in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^,]+") do
  tokens[#tokens + 1] = token
end

local next_index = 1
function setup(thread)
  thread:set("thread_index", next_index)
  next_index = next_index + 1
end

function init(args)
  local headers = { ["Accept"] = "application/json" }
  if #tokens > 0 then
    headers["Authorization"] = "Token " .. tokens[((thread_index - 1) % #tokens) + 1]
  end
  prepared = {}
  for line in io.lines(requests_file) do
    local method, path = line:match("^(%u+)%s+(%S+)$")
    if method then
      prepared[#prepared + 1] = wrk.format(method, path, headers)
    end
  end
  sent = 0
end

function request()
  sent = sent + 1
  return prepared[((sent - 1) % #prepared) + 1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
