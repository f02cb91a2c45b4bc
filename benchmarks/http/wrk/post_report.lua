-- POST /v1/reports cycling over services, regions and problems, each request from a
-- new reporter token (a crowd: the per-token rate limit and dedup run but never refuse).
-- Optional pacing: RATE_DELAY_MS (env) delays each request, so a fixed number of
-- connections gives a fixed rate (wrk cannot rate-limit otherwise).
local prefixes = {}
local regions = {"US", "GB", "DE", "FR", "IT", "ES", "BR", "IN", "JP"}
local problems = {"login", "app", "website", "payments", "connection", "other"}
local counter = 0
local thread_id = 0
local delay_ms = tonumber(os.getenv("RATE_DELAY_MS") or "0")

function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  for i = 1, 4096 do
    prefixes[i] = string.format(
      '{"service":"svc-%d","region":"%s","problem":"%s","reporter":"t%d-',
      i % 3000, regions[i % #regions + 1], problems[i % #problems + 1], thread_id)
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = prefixes[counter % #prefixes + 1] .. counter .. '"}'
  return wrk.format(nil, "/v1/reports", nil, body)
end

function delay()
  return delay_ms
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'WRKJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"p999_ms":%.3f,"errors":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, errors))
end
