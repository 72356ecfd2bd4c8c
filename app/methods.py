"""HTTP methods that only read. Their handlers never write, so the database runs their
statements in autocommit (``app/database.py``) and the rate limiter counts them as reads
(``app/security/ratelimit.py``; OPTIONS is never counted at all)."""

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
