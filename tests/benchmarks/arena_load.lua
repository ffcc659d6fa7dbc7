-- wrk driver for the arena load test (python -m tests.benchmarks.arena_load --generator wrk).
-- Each wrk thread has one connection and plays one voter prepared by the Python side
-- (cookie, CSRF token, first vote URL in VOTERS, written above this script): POST a
-- vote, read the next matchup's vote URL from the JSON answer, repeat. Sequential per
-- connection, as a person voting in one tab. After VOTE_UNTIL (epoch seconds) the
-- threads only ask for /healthz, so every vote's answer is read before wrk stops and
-- acknowledged votes can be compared with the rows in the database.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("voter_index", counter)
  table.insert(threads, thread)
end

local voter, vote_url, needs_next
local outcomes = {"a", "b", "tie", "both_bad"}

function init(args)
  voter = VOTERS[voter_index]
  vote_url = voter.vote_url
  needs_next = false
  acknowledged, failed = 0, 0
  math.randomseed(voter_index)
end

function delay()
  -- After the voting window, an idle poll a second keeps the connection busy but the
  -- server quiet, so the CPU and latency figures are the votes'.
  if os.time() >= VOTE_UNTIL then return 1000 end
  return 0
end

function request()
  if os.time() >= VOTE_UNTIL then
    return wrk.format("GET", "/healthz")
  end
  local headers = {["Cookie"] = voter.cookie, ["Accept"] = "application/json"}
  if needs_next then
    return wrk.format("GET", "/arena/next?mode=t2i", headers)
  end
  headers["X-CSRFToken"] = voter.token
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", vote_url, headers, "outcome=" .. outcomes[math.random(4)])
end

function response(status, headers, body)
  if string.sub(body, 1, 6) == '{"ok":' then
    return
  end
  if needs_next then
    local url = string.match(body, '"vote_url"%s*:%s*"([^"]+)"')
    if status == 200 and url then
      vote_url, needs_next = url, false
    end
    return
  end
  if status == 200 then
    acknowledged = acknowledged + 1
    local after = string.find(body, '"next"', 1, true)
    local url = after and string.match(body, '"vote_url"%s*:%s*"([^"]+)"', after)
    if url then vote_url = url else needs_next = true end
  else
    failed = failed + 1
    needs_next = true
  end
end

function done(summary, latency, requests)
  local acks, fails = 0, 0
  for _, thread in ipairs(threads) do
    acks = acks + thread:get("acknowledged")
    fails = fails + thread:get("failed")
  end
  io.write(string.format("WRK acknowledged=%d failed=%d p50_us=%d p99_us=%d errors=%d\n",
    acks, fails, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
