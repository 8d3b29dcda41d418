"""The relay function: every callback the receiver accepted, delivered to the customer's own
receiver, signed as VOD signs it, tried again for hours.

``handler`` (the entry point) -> ``app`` (composition root) -> ``batch`` (the relay queue's
batches) -> ``delivery`` (one POST, 5 s in all) and ``retry`` (when to try again).
"""
