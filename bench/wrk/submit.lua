dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
-- POST /api/v1/cases: the body file has __KEY__, __ID__ and __MOTHER__ placeholders; each request a new key,
-- applicants cycled from the ID-number file (a window clerk filing walk-in cases: the bench files for the one
-- resident whose ID check the clerk recorded, as a window does), and each birth another mother's (many births, not
-- one birth filed many times: 一事不二办 would take those for duplicates).
local template = io.open(os.getenv("BODY")):read("*a")
local ids = {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
local mothers = {}
for line in io.lines(os.getenv("MOTHERS")) do mothers[#mothers + 1] = line end
local counter = 0
local thread_tag = tostring(math.random(1000000000))

request = function()
  counter = counter + 1
  local body = template:gsub("__KEY__", "bench-" .. thread_tag .. "-" .. counter)
    :gsub("__ID__", ids[(counter % #ids) + 1])
    :gsub("__MOTHER__", mothers[((counter + math.random(#mothers)) % #mothers) + 1])
  return wrk.format("POST", "/api/v1/cases", {
    ["Content-Type"] = "application/json",
    ["Cookie"] = os.getenv("COOKIE"),
    ["X-CSRFToken"] = os.getenv("CSRF"),
  }, body)
end
