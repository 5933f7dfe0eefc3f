-- login.lua - wrk script: POST /login with a JSON body (credentials from the
-- environment: BENCH_USER, BENCH_PASSWORD; set by bench/bench.py).
local user = os.getenv("BENCH_USER") or "alice"
local password = os.getenv("BENCH_PASSWORD") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"username":"%s","password":"%s"}', user, password)
