-- wrk script for bench/api.sh: GET /api/v1/cases/{id}, each connection's requests going round the
-- cases of BENCH_IDS_FILE from a different starting point.
local ids = {}
local i = 0
local token = os.getenv("BENCH_TOKEN")

function init(args)
  for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
    if tonumber(line) then table.insert(ids, line) end
  end
  i = math.random(#ids)
end

function request()
  i = i % #ids + 1
  return wrk.format("GET", "/api/v1/cases/" .. ids[i], { ["Authorization"] = "Bearer " .. token })
end
