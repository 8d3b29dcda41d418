"""Smoke test of a deployed stack, before VOD is pointed at it: four requests, a line each.

    python -m scripts.smoke --stack vod-parts-cleanup [--region eu-central-1]

1. an unsigned POST to the callback URL is refused (401): the receiver is up and checks;
2. a transcode notice signed with the callback key is answered 200 ``queued``: the key
   secret, the URL VOD signs and the receiver agree, and the receiver may send to the work
   queue (the consumer then ignores the notice: it is not an upload's);
3. an uploader's upload event for a made-up VideoId, sent straight to the cleanup function
   (a believed channel, so no status check first), comes back ``media_not_found``: the
   consumer reads the VOD access key from its secret, the RAM policy allows
   DeleteMultipartUpload, and the VOD endpoint answers;
4. a dry-run sweep answers with its summary: the listing calls are allowed too;
5. in relay mode only: a signed notice of a type no receiver acts on (``EventType``
   ``VodPartsCleanupSmokeTest``, a made-up VideoId) reaches the existing receiver, as the
   relay's log shows (its host and HTTP status).

It needs the AWS CLI's usual credentials with cloudformation:DescribeStacks on the stack,
secretsmanager:GetSecretValue on the callback key secret, lambda:InvokeFunction on the
cleanup function, and in relay mode logs:FilterLogEvents on the relay's log group. Nothing
it sends deletes anything.

    python -m scripts.smoke --local

runs the same steps against the local stand-ins of ``make invoke`` (``LocalTarget``), as the
tests do, so what they send and how they judge the answers is checked without an account.
"""

import argparse
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit

from vod_parts_cleanup.shared.vod_callback import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    callback_signature,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_ARGUMENTS = 2
HTTP_TIMEOUT_SECONDS = 10
# Longer than the cleanup function's 60 s timeout, and no retry: a slow invocation is
# waited for, never started a second time.
INVOKE_READ_TIMEOUT_SECONDS = 75
# The relay step's notice: a type VOD never sends, which a receiver that acts by EventType
# passes over (answering 200, as it must to VOD).
SMOKE_EVENT_TYPE = "VodPartsCleanupSmokeTest"
RELAY_WAIT_SECONDS = 90
RELAY_POLL_SECONDS = 5
# The EventBridge rule's pattern (template.yaml's UploadEventsRule).
UPLOAD_EVENT_SOURCE = "custom.alibabacloud.vod"
UPLOAD_EVENT_DETAIL_TYPE = "VOD Upload Event"
TRANSCODE_NOTICE = {
    "EventType": "StreamTranscodeComplete",
    "VideoId": "0000000000000000000000000000smok",
    "Status": "success",
    "Definition": "FD",
}


class Target(Protocol):
    """What the smoke test talks to: a deployed stack, or the local stand-ins."""

    @property
    def callback_url(self) -> str: ...

    @property
    def callback_key(self) -> str: ...

    def post_callback(self, headers: Mapping[str, str], body: str) -> tuple[int, Any]:
        """POST to the callback URL: the status and the JSON body (or its text)."""
        ...

    def invoke(self, payload: Mapping[str, Any]) -> Any:
        """Invoke the cleanup function and wait for its answer."""
        ...

    @property
    def relays(self) -> bool:
        """Whether the stack is in relay mode (the relay step runs only then)."""
        ...

    def relay_outcome(self, video_id: str) -> tuple[bool, str] | None:
        """Whether the notice naming ``video_id`` reached the downstream receiver, and what
        it answered; None if the relay has not tried it (yet)."""
        ...


@dataclass(frozen=True)
class StepResult:
    name: str
    passed: bool
    detail: str


def signed_headers(url: str, key: str, now: float) -> dict[str, str]:
    """The two headers VOD sends: MD5 of ``<URL>|<timestamp>|<key>``."""
    timestamp = int(now)
    return {
        "content-type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: callback_signature(url, timestamp, key),
    }


def made_up_video_id() -> str:
    """A VideoId no account has: 32 hex characters, starting with zeros to be recognisable."""
    return "0000" + secrets.token_hex(14)


def _check(name: str, passed: bool, detail: str) -> StepResult:
    return StepResult(name, passed, detail)


def unsigned_callback_is_refused(target: Target) -> StepResult:
    status, answer = target.post_callback({"content-type": "application/json"}, "{}")
    reason = answer.get("reason") if isinstance(answer, dict) else None
    return _check(
        "an unsigned callback is refused", (status, reason) == (401, "missing_header"),
        f"HTTP {status} {reason or answer!r}",
    )  # fmt: skip


def signed_transcode_notice_is_queued(target: Target) -> StepResult:
    headers = signed_headers(target.callback_url, target.callback_key, time.time())
    status, answer = target.post_callback(headers, json.dumps(TRANSCODE_NOTICE))
    result = answer.get("status") if isinstance(answer, dict) else None
    return _check(
        "a signed transcode notice is answered 200 queued",
        (status, result) == (200, "queued"),
        f"HTTP {status} {result or answer!r}",
    )


def made_up_video_is_media_not_found(target: Target) -> StepResult:
    video_id = made_up_video_id()
    answer = target.invoke(uploader_event(video_id))
    result = answer.get("status") if isinstance(answer, dict) else None
    return _check(
        "a made-up video is media_not_found (VOD key, RAM policy, endpoint)",
        result == "media_not_found",
        f"{video_id}: {result or answer!r}",
    )


def uploader_event(video_id: str) -> dict[str, Any]:
    """An uploader's EventBridge event about a completed upload (a believed channel: the
    function asks VOD to delete at once, where a person's request is confirmed first)."""
    return {
        "version": "0",
        "id": secrets.token_hex(16),
        "detail-type": UPLOAD_EVENT_DETAIL_TYPE,
        "source": UPLOAD_EVENT_SOURCE,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "resources": [],
        "detail": {"EventType": "FileUploadComplete", "VideoId": video_id, "Status": "success"},
    }


def dry_run_sweep_answers(target: Target) -> StepResult:
    answer = target.invoke({"Sweep": {"DryRun": True}})
    passed = isinstance(answer, dict) and answer.get("dryRun") is True and "candidates" in answer
    detail = (
        f"{answer['candidates']} candidates, {answer['pages']} listing calls"
        if passed
        else repr(answer)
    )
    return _check("a dry-run sweep answers its summary", passed, detail)


def notice_reaches_the_existing_receiver(target: Target) -> StepResult:
    video_id = made_up_video_id()
    notice = {"EventType": SMOKE_EVENT_TYPE, "VideoId": video_id, "Status": "success"}
    headers = signed_headers(target.callback_url, target.callback_key, time.time())
    status, _ = target.post_callback(headers, json.dumps(notice))
    name = "a signed notice reaches the existing receiver (relay)"
    if status != 200:
        return _check(name, False, f"the callback itself was answered HTTP {status}")
    outcome = target.relay_outcome(video_id)
    if outcome is None:
        return _check(name, False, f"{video_id}: not tried within {RELAY_WAIT_SECONDS} s")
    delivered, detail = outcome
    return _check(name, delivered, f"{video_id}: {detail}")


STEPS: Sequence[Callable[[Target], StepResult]] = (
    unsigned_callback_is_refused,
    signed_transcode_notice_is_queued,
    made_up_video_is_media_not_found,
    dry_run_sweep_answers,
    notice_reaches_the_existing_receiver,
)
RELAY_STEPS = frozenset({notice_reaches_the_existing_receiver})


def run_steps(target: Target, out: TextIO) -> int:
    """Every step, a PASS or FAIL line each, even after a failure; the exit status."""
    failed = 0
    steps = [step for step in STEPS if target.relays or step not in RELAY_STEPS]
    for step in steps:
        try:
            result = step(target)
        except Exception as error:  # a step that cannot even ask is a failed step
            result = StepResult(step.__name__.replace("_", " "), False, f"{type(error).__name__}")
        failed += not result.passed
        print(f"{'PASS' if result.passed else 'FAIL'}  {result.name}: {result.detail}", file=out)
    print(f"{len(steps) - failed} of {len(steps)} passed", file=out)
    return EXIT_FAILED if failed else EXIT_OK


class DeployedTarget:
    """A stack deployed from template.yaml, found by its outputs and parameters."""

    def __init__(self, stack: str, region: str | None) -> None:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(region_name=region)
        described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        outputs = {item["OutputKey"]: item["OutputValue"] for item in described["Outputs"]}
        parameters = {
            item["ParameterKey"]: item.get("ParameterValue", "")
            for item in described.get("Parameters", [])
        }
        self._callback_url = str(outputs["CallbackUrl"])
        self._function_name = str(outputs["FunctionName"])
        self._relay_log_group = outputs.get("RelayFunctionLogGroupName")
        self._logs = session.client("logs")
        self._lambda = session.client(
            "lambda",
            config=Config(
                read_timeout=INVOKE_READ_TIMEOUT_SECONDS, retries={"total_max_attempts": 1}
            ),
        )
        secret = session.client("secretsmanager").get_secret_value(
            SecretId=parameters["CallbackAuthKeySecretArn"]
        )["SecretString"]
        self._callback_key = _current_key(secret)

    @property
    def callback_url(self) -> str:
        return self._callback_url

    @property
    def callback_key(self) -> str:
        return self._callback_key

    def post_callback(self, headers: Mapping[str, str], body: str) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - the stack's own https URL
            self._callback_url, data=body.encode(), headers=dict(headers), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
                return response.status, _json_or_text(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _json_or_text(error.read())

    def invoke(self, payload: Mapping[str, Any]) -> Any:
        answer = self._lambda.invoke(
            FunctionName=self._function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode(),
        )
        return _json_or_text(answer["Payload"].read())

    @property
    def relays(self) -> bool:
        return bool(self._relay_log_group)

    def relay_outcome(self, video_id: str) -> tuple[bool, str] | None:
        """From the relay's log: the line about the notice naming ``video_id``."""
        started = int(time.time() * 1000) - 60_000
        deadline = time.monotonic() + RELAY_WAIT_SECONDS
        while time.monotonic() < deadline:
            events = self._logs.filter_log_events(
                logGroupName=self._relay_log_group,
                startTime=started,
                filterPattern=f'"{video_id}"',
            )["events"]
            for event in events:
                outcome = relay_outcome_of(event["message"])
                if outcome is not None:
                    return outcome
            time.sleep(RELAY_POLL_SECONDS)
        return None


def relay_outcome_of(line: str) -> tuple[bool, str] | None:
    """A relay log line's verdict: delivered or not, the downstream's host and status."""
    try:
        record = json.loads(line[line.index("{") :])
    except ValueError:
        return None
    if not isinstance(record, dict) or "downstreamHost" not in record:
        return None
    detail = f"HTTP {record.get('httpStatus')} from {record['downstreamHost']}"
    if record.get("reason") != "delivered":
        detail += f" ({record.get('reason')}: {record.get('detail')})"
    return record.get("reason") == "delivered", detail


def _current_key(secret: str) -> str:
    """The callback secret holds the key itself or {"AuthKey": ..., "NextAuthKey": ...}."""
    try:
        document = json.loads(secret)
    except ValueError:
        return secret.strip()
    return str(document["AuthKey"]) if isinstance(document, dict) else secret.strip()


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def api_gateway_event(url: str, headers: Mapping[str, str], body: str) -> dict[str, Any]:
    """The HTTP API (payload 2.0) event API Gateway makes of a POST to ``url``."""
    parts = urlsplit(url)
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "POST /vod/callback",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": dict(headers),
        "requestContext": {
            "domainName": parts.netloc,
            "http": {"method": "POST", "path": parts.path, "sourceIp": "127.0.0.1"},
            "timeEpoch": int(now * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }


class LocalTarget:
    """The function in this process among the local stand-ins (``make invoke``'s world): the
    callback goes through the real handler as API Gateway would hand it over."""

    CALLBACK_URL = "https://smoke.execute-api.local/vod/callback"

    def __init__(self, run: Any, callback_key: str) -> None:
        self._run = run
        self._callback_key = callback_key

    @property
    def callback_url(self) -> str:
        return self.CALLBACK_URL

    @property
    def callback_key(self) -> str:
        return self._callback_key

    def post_callback(self, headers: Mapping[str, str], body: str) -> tuple[int, Any]:
        invocation = self._run.invoke_once(api_gateway_event(self.CALLBACK_URL, headers, body))
        response = invocation.response
        return int(response["statusCode"]), _json_or_text(response["body"].encode())

    def invoke(self, payload: Mapping[str, Any]) -> Any:
        invocation = self._run.invoke_once(dict(payload))
        if invocation.error is not None:
            return {"errorType": type(invocation.error).__name__}
        return invocation.response

    @property
    def relays(self) -> bool:
        return self._run.world.relay_queue_url is not None

    def relay_outcome(self, video_id: str) -> tuple[bool, str] | None:
        """From the relay's log lines, as for a deployed stack (the relay's batches run now)."""
        for invocation in self._run.relay_pending():
            for record in invocation.records:
                if record.get("videoId") == video_id:
                    outcome = relay_outcome_of(json.dumps(record))
                    if outcome is not None:
                        return outcome
        return None


def run_locally(out: TextIO) -> int:
    """The steps against the embedded world: the VOD stand-in, moto, the local callback key."""
    from vod_parts_cleanup.shared.settings import Settings
    from vod_parts_cleanup_dev.callbacks import LOCAL_CALLBACK_AUTH_KEY
    from vod_parts_cleanup_dev.runner import LocalRun, local_world

    settings = Settings.from_environment().with_changes(
        callback_urls=(LocalTarget.CALLBACK_URL,), callback_auth_key=LOCAL_CALLBACK_AUTH_KEY
    )
    with local_world(settings, local=True, relay=True) as world:
        print("smoke test of the local stand-ins", file=out)
        return run_steps(LocalTarget(LocalRun(world), LOCAL_CALLBACK_AUTH_KEY), out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.smoke", description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the CloudFormation stack's name")
    where.add_argument("--local", action="store_true", help="the local stand-ins instead")
    parser.add_argument("--region", help="the stack's region (default: the AWS CLI's)")
    arguments = parser.parse_args(argv)
    if arguments.local:
        return run_locally(sys.stdout)
    try:
        target = DeployedTarget(arguments.stack, arguments.region)
    except Exception as error:  # no stack, no rights, no region: say which, plainly
        print(f"error: cannot read stack {arguments.stack!r}: {error}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    print(f"smoke test of {arguments.stack}: {target.callback_url}")
    return run_steps(target, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
