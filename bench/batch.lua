-- batch.lua — NDJSON bodies of 1000 events (9 exposures to 1 conversion)
-- with random users. The environment picks the experiment:
-- BATCH_EXPERIMENT (bench), BATCH_VARIANTS (2: "control","buy-now"; else
-- "v0".."vN-1") and BATCH_USERS (1000000). Bodies are made once, at start,
-- so that wrk spends its time sending.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"
local experiment = os.getenv("BATCH_EXPERIMENT") or "bench"
local k = tonumber(os.getenv("BATCH_VARIANTS") or "2")
local users = tonumber(os.getenv("BATCH_USERS") or "1000000")
local variants = {}
if k == 2 then
  variants = {"control", "buy-now"}
else
  for i = 1, k do variants[i] = "v" .. (i - 1) end
end
local bodies = {}
math.randomseed(42)
for b = 1, 64 do
  local lines = {}
  for i = 1, 1000 do
    local u = math.random(1, users)
    if i % 10 == 0 then
      lines[i] = string.format('{"experiment":"%s","user":"u-%d","type":"conversion","value":%d.5}',
                               experiment, u, u % 90)
    else
      lines[i] = string.format('{"experiment":"%s","variant":"%s","user":"u-%d","type":"exposure"}',
                               experiment, variants[(u % k) + 1], u)
    end
  end
  bodies[b] = table.concat(lines, "\n") .. "\n"
end
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/v1/events", nil, bodies[(n % #bodies) + 1])
end
