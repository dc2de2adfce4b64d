# Succeed once Patroni's REST API (argv[1]) answers at all, with any
# status: Patroni has then set up its signal handlers, so a reload
# (SIGHUP) no longer ends it. Gives up after 60 s.
import sys, time, urllib.error, urllib.request
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        time.sleep(0.5)
sys.exit(1)
