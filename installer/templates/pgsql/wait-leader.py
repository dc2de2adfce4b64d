# Succeed when this member has data (argv[1] exists) or one of the
# cluster's Patroni REST API URLs (argv[2:]) answers as the leader.
import os, sys, urllib.request
if os.path.exists(sys.argv[1]):
    sys.exit(0)
for url in sys.argv[2:]:
    try:
        urllib.request.urlopen(url, timeout=2)
        sys.exit(0)
    except Exception:
        pass
sys.exit(1)
