-- batch.lua — NDJSON bodies of 1000 events (exposures and some
-- conversions) for experiment "bench", random users over 1 M. The bodies
-- are made once, at start, so wrk spends its time sending.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"
local variants = {"control", "buy-now"}
local bodies = {}
math.randomseed(42)
for b = 1, 64 do
  local lines = {}
  for i = 1, 1000 do
    local u = math.random(1, 1000000)
    if i % 10 == 0 then
      lines[i] = string.format('{"experiment":"bench","user":"u-%d","type":"conversion","value":%d.5}', u, u % 90)
    else
      lines[i] = string.format('{"experiment":"bench","variant":"%s","user":"u-%d","type":"exposure"}',
                               variants[(u % 2) + 1], u)
    end
  end
  bodies[b] = table.concat(lines, "\n") .. "\n"
end
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/v1/events", nil, bodies[(n % #bodies) + 1])
end
