"""The receiver function: VOD's HTTP callback, authenticated, held durably, answered fast.

``handler`` (the entry point) -> ``app`` (composition root) -> ``callback`` (the answers)
-> ``callback_auth`` (VOD's signature and keys); it hands bodies to the work queue unread.
"""
