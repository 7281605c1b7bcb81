-- A new birth for each POST /api/v1/cases, never the same one twice across wrk's threads (一事不二办 refuses a birth
-- filed again): the body file has __KEY__, __ID__, __MOTHER__ and __BORN__ placeholders. Filing k (BIRTHS_FROM, when
-- a run before has filed that many, + this thread's count × THREADS + its number) names mother k mod M, born 3·⌊k / M⌋ days before yesterday (a later sibling, never
-- within the rule's two days). The applicant is the one resident whose ID card the clerk checked (窗口收件).
local template = io.open(os.getenv("BODY")):read("*a")
local ids = {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
local mothers = {}
for line in io.lines(os.getenv("MOTHERS")) do mothers[#mothers + 1] = line end
local threads = tonumber(os.getenv("WRK_THREADS") or "2")
local from = tonumber(os.getenv("BIRTHS_FROM") or "0")
local yesterday = os.time() - 86400
local filed = 0

local numbered = 0
function setup(thread)
  thread:set("number", numbered)
  numbered = numbered + 1
end

function birth_request(cookie, csrf)
  local k = from + filed * threads + (number or 0)
  filed = filed + 1
  local born = os.date("!%Y-%m-%d", yesterday - 3 * math.floor(k / #mothers) * 86400)
  local body = template:gsub("__KEY__", "bench-" .. (number or 0) .. "-" .. k .. "-" .. yesterday)
    :gsub("__ID__", ids[(k % #ids) + 1])
    :gsub("__MOTHER__", mothers[(k % #mothers) + 1])
    :gsub("__BORN__", born)
  return wrk.format("POST", "/api/v1/cases", {
    ["Content-Type"] = "application/json",
    ["Cookie"] = cookie,
    ["X-CSRFToken"] = csrf,
  }, body)
end
