# Served verbatim by /version/. The hot-reload benchmark rewrites this file and
# polls /version/ until the new value shows up, so keep it a single
# assignment of a plain string literal.
VERSION = "1"
