"""Entry point of the receiver function (``CallbackFunction`` in template.yaml): VOD's HTTP
callback through API Gateway, authenticated and handed to the work queue; it never calls VOD.
"""

from vod_parts_cleanup.receiver.app import ReceiverApp

application = ReceiverApp.from_environment()
lambda_handler = application.lambda_handler
