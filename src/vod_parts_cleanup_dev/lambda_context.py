"""A Lambda-like context for running the real handler outside AWS (CLI and tests)."""

import time
import uuid
from dataclasses import dataclass, field

LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"


@dataclass
class LocalLambdaContext:
    """What Lambda passes as ``context``, with a clock that runs down like the real one."""

    function_name: str = "vod-parts-cleanup"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    timeout_seconds: float = 30.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/vod-parts-cleanup"
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))
