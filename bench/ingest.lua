-- wrk script: POST pre-signed Rye events, each once, to /webhook.
-- EVENTS names the file written by gen-events.py.  Each wrk thread takes
-- every k-th line so no event id is sent twice across threads.
local lines = {}
local idx = 0
local step = 1
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  thread:set("nthreads", 0)
end

function init(args)
  local path = os.getenv("EVENTS")
  for line in io.lines(path) do
    lines[#lines + 1] = line
  end
  step = tonumber(os.getenv("WRK_THREADS") or "2")
  idx = tid + 1
end

function request()
  local line = lines[idx]
  if line == nil then
    -- out of unique events: wrap (answers will be duplicates)
    idx = tid + 1
    line = lines[idx]
  end
  idx = idx + step
  local tab = line:find("\t", 1, true)
  local sig = line:sub(1, tab - 1)
  local body = line:sub(tab + 1)
  return wrk.format("POST", "/webhook", {
    ["Content-Type"] = "application/json",
    ["Rye-Hmac-Signature-V1"] = sig,
  }, body)
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
