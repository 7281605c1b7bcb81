dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
-- GET a random path from the file named by the PATHS environment variable (one per line).
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local cookie = os.getenv("COOKIE")

request = function()
  local headers = {}
  if cookie and cookie ~= "" then headers["Cookie"] = cookie end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
