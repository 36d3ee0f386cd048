-- A kiosk fleet's request mix for wrk (bench/fleet.py runs it): per kiosk and minute two
-- config pulls answered 304, one heartbeat and one single-tap upload, round-robin over the
-- device tokens in the file named by the first script argument. The second argument is a
-- per-connection delay in ms before each request (0: as fast as the server answers), which
-- is how bench/fleet.py bounds the rate; wrk has no rate option (wrk2 has).
--
-- Devices file: one line per device, "token etag location_id survey_id survey_version".

local devices = {}
local delay_ms = 0
local sent = 0
local thread_id = 0
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local token, etag, location, survey, version =
      line:match("^(%S+) (%S+) (%S+) (%S+) (%S+)$")
    if token then
      devices[#devices + 1] = {
        token = token, etag = etag, location = location, survey = survey, version = version,
      }
    end
  end
  delay_ms = tonumber(args[2] or "0")
  -- Each thread its own random stream, so tap ids differ across threads.
  math.randomseed(os.time() * 1000 + thread_id * 7919)
  sent = thread_id  -- threads start at different devices
end

local function uuid4()
  local r = math.random
  return string.format("%08x-%04x-4%03x-%04x-%04x%08x",
    r(0, 0x7fffffff), r(0, 0xffff), r(0, 0xfff), 0x8000 + r(0, 0x3fff),
    r(0, 0xffff), r(0, 0x7fffffff))
end

local function now_rfc3339()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

function delay()
  return delay_ms
end

function request()
  sent = sent + 1
  local kind = sent % 4
  local device = devices[math.floor(sent / 4) % #devices + 1]
  local headers = { ["Authorization"] = "Bearer " .. device.token }
  if kind < 2 then
    headers["If-None-Match"] = '"' .. device.etag .. '"'
    return wrk.format("GET", "/api/v1/config", headers)
  end
  headers["Content-Type"] = "application/json"
  local now = now_rfc3339()
  if kind == 2 then
    local body = string.format(
      '{"sent_at":"%s","app_version":"1.0.0","backlog":0,"oldest_pending_at":null,' ..
      '"rejected_count":0,"last_error":null,"config_etag":"%s"}', now, device.etag)
    return wrk.format("POST", "/api/v1/heartbeat", headers, body)
  end
  local body = string.format(
    '{"sent_at":"%s","submissions":[{"id":"%s","survey_id":"%s","survey_version":%s,' ..
    '"location_id":"%s","staff_id":null,"language":"en","tapped_at":"%s",' ..
    '"answers":[{"question_id":"q1","value":%d,"reasons":[],"comment":null}],"flags":[]}]}',
    now, uuid4(), device.survey, device.version, device.location, now, math.random(3, 5))
  return wrk.format("POST", "/api/v1/submissions", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'FLEET_RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
