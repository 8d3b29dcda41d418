"""What every function of the stack imports: the vocabulary (enums and error codes), the
exceptions, the settings, the clock and deadline, observability, the envelopes AWS hands a
function, and the AWS clients (the JSON-protocol client, the work queue). Nothing here
imports pydantic, botocore or the OpenAPI core: the receiver's cold start cannot afford them.
"""
