-- wrk script for bench/api.sh: POST /api/v1/cases/{id}/events with the case's current version.
-- Each thread owns its own cases (BENCH_IDS_FILE, one id per line, dealt out in turn), many more
-- than its connections; a case is taken from the thread's queue when a request is made and put back
-- when its answer arrives, so it is never in flight twice. The answer is matched to its case by the
-- X-Request-ID that ehcd echoes, and the new version read from {"case_id":..,"version":..}.
-- done() writes each status's count and each case's last acknowledged version to BENCH_OUT_FILE.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("index", #threads)
end

local queue, head, tail = {}, 1, 0
version = {}
counts = {}
lost = 0
local token = os.getenv("BENCH_TOKEN")
local on = os.getenv("BENCH_EFFECTIVE_ON")

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  local n = 0
  for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
    local id = tonumber(line)
    if id then
      if n % nthreads == index - 1 then
        tail = tail + 1
        queue[tail] = id
        version[id] = 1
      end
      n = n + 1
    end
  end
end

function request()
  if head > tail then
    -- never expected (many more cases than connections): a harmless request, counted apart
    return wrk.format("GET", "/healthz")
  end
  local id = queue[head]
  queue[head] = nil
  head = head + 1
  local v = version[id]
  return wrk.format("POST", "/api/v1/cases/" .. id .. "/events",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
      ["X-Request-ID"] = "c" .. id .. "v" .. v },
    '{"type":"notification_sent","effective_on":"' .. on .. '","expected_version":' .. v ..
    ',"fields":{"body":"icb"}}')
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  local id = tonumber(string.match(headers["x-request-id"] or "", "^c(%d+)v"))
  if not id then
    lost = lost + 1
    return
  end
  local v = tonumber(string.match(body, '"version":(%d+)') or string.match(body, '"current_version":(%d+)') or "")
  if v then version[id] = v end
  tail = tail + 1
  queue[tail] = id
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("BENCH_OUT_FILE"), "w"))
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do out:write("status ", status, " ", n, "\n") end
    out:write("lost ", t:get("lost"), "\n")
    for id, v in pairs(t:get("version")) do out:write("case ", id, " ", v, "\n") end
  end
  out:close()
end
