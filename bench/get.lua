-- get.lua — plain GET requests (the URL is wrk's argument).
wrk.method = "GET"
