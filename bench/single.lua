-- single.lua — one exposure event per request, random users over 1 M.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local variants = {"control", "buy-now"}
math.randomseed(os.time())
request = function()
  local u = math.random(1, 1000000)
  local body = string.format(
    '{"experiment":"bench","variant":"%s","user":"u-%d","type":"exposure"}',
    variants[(u % 2) + 1], u)
  return wrk.format(nil, "/v1/events", nil, body)
end
