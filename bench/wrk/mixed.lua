dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
dofile(os.getenv("BENCH_LUA_DIR") .. "/births.lua")
-- The soak's mix (make soak): status checks as JSON, the tracking page, the signed-in resident's case page and inbox,
-- and a window clerk's submissions (each pushed to the resident's devices by the push worker). PER_SECOND (0: as
-- fast as it goes) spreads each connection's requests out, so that all of them together make about that many a
-- second.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local cases = {}
for line in io.lines(os.getenv("CASES")) do cases[#cases + 1] = line end
local resident = os.getenv("RESIDENT_COOKIE")
local clerk, csrf = os.getenv("COOKIE"), os.getenv("CSRF")
local per_second = tonumber(os.getenv("PER_SECOND") or "0")
local connections = tonumber(os.getenv("CONNECTIONS") or "16")

request = function()
  local roll = math.random(100)
  if roll <= 40 then
    return wrk.format("GET", "/api/v1/track/" .. tokens[math.random(#tokens)])
  elseif roll <= 65 then
    return wrk.format("GET", "/t/" .. tokens[math.random(#tokens)])
  elseif roll <= 80 then
    return wrk.format("GET", "/cases/" .. cases[math.random(#cases)], {["Cookie"] = resident})
  elseif roll <= 90 then
    return wrk.format("GET", "/api/v1/notifications", {["Cookie"] = resident})
  end
  return birth_request(clerk, csrf)
end

if per_second > 0 then
  delay = function()
    -- Each connection waits its share of a second; the server's own time comes on top, so the rate is at most this.
    return math.floor(1000 * connections / per_second * (0.5 + math.random()))
  end
end
