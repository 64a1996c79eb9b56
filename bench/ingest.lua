-- wrk script: POST pre-signed Rye events, each once, to /webhook.
-- EVENTS names the file written by gen-events.py ("<signature>\t<body>"
-- per line).  Each wrk thread takes every k-th line (k = WRK_THREADS, 2 by
-- default) so no event id is sent twice across threads.  Lines are read
-- from the file as requests are made, so a file of any size costs no
-- memory.  INGEST_PATH changes the URL path (bench/run posts the same
-- events to the PHP peer).
local counter = 0
local file, step, path

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local function skip(n)
  for _ = 1, n do
    file:read("*l")
  end
end

function init(args)
  path = os.getenv("INGEST_PATH") or "/webhook"
  step = tonumber(os.getenv("WRK_THREADS") or "2")
  file = assert(io.open(os.getenv("EVENTS"), "r"))
  skip(tid)
end

local function next_line()
  local line = file:read("*l")
  if line == nil then
    -- out of unique events: wrap (answers will be duplicates)
    file:seek("set", 0)
    skip(tid)
    line = file:read("*l")
  end
  skip(step - 1)
  return line
end

function request()
  local line = next_line()
  local tab = line:find("\t", 1, true)
  local sig = line:sub(1, tab - 1)
  local body = line:sub(tab + 1)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Rye-Hmac-Signature-V1"] = sig,
  }, body)
end
