dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
-- GET a random path from the file named by the PATHS environment variable (one per line), with the COOKIE and the
-- ACCEPT_ENCODING given (a page row sends what a browser sends: bench/__main__.py BROWSER_ACCEPT_ENCODING).
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local cookie = os.getenv("COOKIE")
local encoding = os.getenv("ACCEPT_ENCODING")

request = function()
  local headers = {}
  if cookie and cookie ~= "" then headers["Cookie"] = cookie end
  if encoding and encoding ~= "" then headers["Accept-Encoding"] = encoding end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
