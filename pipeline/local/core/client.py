"""What every local client shares with a boto3 client: the service model, request
validation, modeled exceptions and ``get_paginator`` from botocore's own data."""

from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import botocore.session
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import ClientError
from botocore.paginate import Paginator
from botocore.validate import validate_parameters
from botocore.waiter import create_waiter_with_client

from pipeline.local.core import arns
from pipeline.local.core.paging import InvalidToken, page


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def service_model(service_name: str):
    """botocore's model of ``service_name`` (cached)."""
    return _session().get_service_model(service_name)


@functools.cache
def _exceptions(service_name: str):
    return ClientExceptionsFactory().create_client_exceptions(service_model(service_name))


class LocalClient:
    """Base of the local clients: subclasses set ``service_name`` and implement operations
    as snake_case methods taking the API's keyword arguments."""

    service_name = ""
    invalid_token_code = "InvalidParameterException"
    """The error code the service documents for a ``nextToken`` it did not hand out."""

    def __init__(self, home: Path, region: str = arns.DEFAULT_REGION) -> None:
        self.home = Path(home)
        self.region = region
        model = service_model(self.service_name)
        self.meta = SimpleNamespace(region_name=region, service_model=model)
        self.exceptions = _exceptions(self.service_name)

    def validate(self, operation: str, params: dict[str, Any]) -> None:
        """Raise botocore's ParamValidationError when ``params`` break the API's input shape."""
        shape = service_model(self.service_name).operation_model(operation).input_shape
        if shape is not None:
            validate_parameters(params, shape)

    def error(self, operation: str, code: str, message: str, status: int = 400) -> ClientError:
        """A ClientError (the modeled subclass where the service has one) as AWS raises it."""
        response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return self.exceptions.from_code(code)(response, operation)

    def arn(self, service: str, resource: str) -> str:
        """An ARN in the local account and region."""
        return arns.arn(service, self.region, resource)

    def page(
        self, operation: str, items: list, token: str | None, size: int
    ) -> tuple[list, dict[str, str]]:
        """One page of ``items`` and the ``nextToken`` entry when more remain; a token this
        client did not hand out is the service's modeled error, as on AWS."""
        try:
            return page(items, token, size)
        except InvalidToken:
            raise self.error(
                operation, self.invalid_token_code, f"Invalid nextToken: {token!r}."
            ) from None

    def can_paginate(self, operation_name: str) -> bool:
        """Whether botocore has a paginator for ``operation_name`` (snake_case), as boto3's."""
        return self._operation(operation_name) in self._paginators()

    def get_paginator(self, operation_name: str) -> Paginator:
        """A botocore Paginator over this client's method, with the real paging config."""
        operation = self._operation(operation_name)
        config = self._paginators().get(operation)
        if config is None:
            raise self.error(operation, "OperationNotPageableError", f"{operation} is not pageable")
        model = service_model(self.service_name).operation_model(operation)
        return Paginator(getattr(self, operation_name), config, model)

    def get_waiter(self, waiter_name: str) -> Any:
        """A botocore waiter over this client (``stack_create_complete``...)."""
        model = _session().get_waiter_model(self.service_name)
        names = {botocore.xform_name(name): name for name in model.waiter_names}
        return create_waiter_with_client(names.get(waiter_name, waiter_name), model, self)

    def _operation(self, snake: str) -> str:
        names = {
            botocore.xform_name(name): name
            for name in service_model(self.service_name).operation_names
        }
        return names.get(snake, snake)

    def _paginators(self) -> dict[str, Any]:
        return _session().get_paginator_model(self.service_name)._paginator_config
