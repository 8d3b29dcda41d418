"""moto as a server on loopback, for as long as a block runs.

Why: the HTTP route reaches SQS and Secrets Manager with its own small client (no botocore,
for its cold start), which moto's in-process patching cannot see. A server in this process
shares moto's state with that patching, so boto3 clients under ``mock_aws`` and the route's
client meet the same queues and secrets.
"""

import contextlib
import logging
from collections.abc import Iterator

from vod_parts_cleanup.shared.aws_json import SECRETS_MANAGER, SQS


class MotoServerError(Exception):
    """The moto server cannot start here; the message says why."""


@contextlib.contextmanager
def moto_server_endpoint() -> Iterator[str]:
    """The server's endpoint URL (``http://127.0.0.1:<port>``), while the block runs."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        msg = f"the moto server needs flask and flask-cors ({error}): run `make setup`"
        raise MotoServerError(msg) from None
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def receiver_endpoint_variables(endpoint: str) -> dict[str, str]:
    """The variables that send the receiver's own client (SQS, Secrets Manager) to
    ``endpoint``; AWS clients of other services are left where they were."""
    return {
        f"AWS_ENDPOINT_URL_{service.endpoint_variable}": endpoint
        for service in (SQS, SECRETS_MANAGER)
    }
