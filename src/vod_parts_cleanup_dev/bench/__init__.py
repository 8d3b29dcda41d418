"""The benchmark (``make bench``): the function against a naive handler, on the local VOD
stand-in with VOD's rate limit, and the cold starts of both as Lambda packages them.

Why: pacing, idempotency, the hand-off and the lazy imports are claims about throughput,
loss and cold starts; this measures them on one machine, in one run, under the same
stand-in settings for both functions, and says which targets are met.
"""
