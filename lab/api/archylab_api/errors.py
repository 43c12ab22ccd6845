"""Errors a handler raises; the server turns them into the contract's envelope and status."""


class RpcError(Exception):
    """A handler error: HTTP 200 with error set (the backend's convention)."""

    http_status = 200

    def __init__(self, message, code=-1, data=None):
        super().__init__(message)
        self.message = str(message)[:200]
        self.code = code
        self.data = data


class Unauthorized(RpcError):
    http_status = 401


class Forbidden(RpcError):
    http_status = 403


class RateLimited(RpcError):
    http_status = 429


class BadParams(RpcError):
    def __init__(self, message):
        super().__init__(message, code=-32602)


def param(params, name, kind, required=True, default=None):
    """params[name] checked against a type (or tuple of types); a clear error otherwise."""
    if name not in params or params[name] is None:
        if required:
            raise BadParams(f"missing parameter '{name}'")
        return default
    value = params[name]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise BadParams(f"parameter '{name}' must be of type {names}")
    return value
