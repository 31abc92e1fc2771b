-- wrk script for OakAuth's benchmarks. Configured by environment variables:
--   BENCH_METHOD     GET or POST (default GET)
--   BENCH_BODY       request body (POST), sent with Content-Type: application/json
--   BENCH_KEYS_FILE  file of bearer keys, one a line; requests cycle through them
--   BENCH_AUTH       extra header value for Authorization (used when there is no keys file)
--   BENCH_MAX        stop each thread after this many responses (bounds the run by count;
--                    wrk's -d bounds it by time)
--   BENCH_EXPECT     the expected HTTP statuses, comma-separated; others are counted as unexpected
-- done() prints one line `BENCH_JSON {...}` that bench/run.mjs parses.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  method = os.getenv("BENCH_METHOD") or "GET"
  body = os.getenv("BENCH_BODY")
  max = tonumber(os.getenv("BENCH_MAX") or "0")
  expect = {}
  for code in string.gmatch(os.getenv("BENCH_EXPECT") or "200", "%d+") do expect[tonumber(code)] = true end
  keys = {}
  local file = os.getenv("BENCH_KEYS_FILE")
  if file and file ~= "" then
    for line in io.lines(file) do
      if line ~= "" then table.insert(keys, line) end
    end
  end
  auth = os.getenv("BENCH_AUTH")
  n = 0
  unexpected = 0
  responses = 0
  -- Different threads start at different keys.
  cursor = id * 7919
  headers = {}
  if body then headers["Content-Type"] = "application/json" end
  if #keys == 0 then
    if auth and auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
    fixed = wrk.format(method, nil, headers, body)
  end
end

function request()
  if fixed then return fixed end
  cursor = cursor + 1
  headers["Authorization"] = "Bearer " .. keys[(cursor % #keys) + 1]
  return wrk.format(method, nil, headers, body)
end

function response(status, hdrs, resp_body)
  responses = responses + 1
  if not expect[status] then
    unexpected = unexpected + 1
    if unexpected <= 3 then io.stderr:write("unexpected " .. status .. ": " .. string.sub(resp_body or "", 1, 200) .. "\n") end
  end
  if max > 0 and responses >= max then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local unexpected_total = 0
  for _, t in ipairs(threads) do unexpected_total = unexpected_total + (t:get("unexpected") or 0) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,"unexpected_status":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, unexpected_total, e.connect + e.read + e.write + e.timeout))
end
