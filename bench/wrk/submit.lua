dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
dofile(os.getenv("BENCH_LUA_DIR") .. "/births.lua")
-- POST /api/v1/cases: a window clerk filing walk-in births, each a new one (births.lua).
local cookie, csrf = os.getenv("COOKIE"), os.getenv("CSRF")

request = function()
  return birth_request(cookie, csrf)
end
