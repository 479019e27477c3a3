"""The HTTP layer: the conventions every API call shares (client-protocol §1.1).

Every request carries the `Token` header; API calls (not file uploads or
downloads, as upstream) also carry `X-Debusine-Scope`. A response whose
Content-Type is exactly `application/problem+json` is the server's error,
shown as one line with its title and detail; any other unexpected status,
an unparsable body or a connection failure is a one-line error too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from debusine import __version__
from debusine.client.config import ServerConfig
from debusine.client.errors import ClientError

API_VERSION = "1.0"
PROBLEM_CONTENT_TYPE = "application/problem+json"
# Connect, then read: uploads of a 50 MiB chunk may take a while to answer.
TIMEOUT = (15, 600)


class ServerError(ClientError):
    """The server answered with a problem (or an unexpected status)."""

    def __init__(self, message: str, status: int, problem: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.problem = dict(problem)


class ConnectionFailed(ClientError):
    """The server could not be reached (or stopped answering)."""


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def _reason(error: requests.RequestException) -> str:
    """The interesting part of a requests exception ("Connection refused")."""
    text = str(error)
    match = re.search(r"\[Errno -?\d+\] ([^')\"]+)", text)
    if match:
        return match[1].strip()
    if isinstance(error, requests.Timeout):
        return "timed out"
    return one_line(text)


def problem_message(response: requests.Response) -> ServerError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"title": f"HTTP {response.status_code}"}
    title = one_line(str(body.get("title") or f"HTTP {response.status_code}"))
    detail = body.get("detail")
    message = title if not detail else f"{title}: {one_line(str(detail))}"
    return ServerError(message, response.status_code, body)


class APIClient:
    """Talks to one server's JSON API."""

    def __init__(self, server: ServerConfig) -> None:
        self.server = server
        self.base_url = f"{server.api_url}/{API_VERSION}"
        self.session = requests.Session()
        self.session.headers.update(
            {"Token": server.token, "User-Agent": f"debusine-client/{__version__}"}
        )
        retry = Retry(total=4, status_forcelist=[429, 500, 503, 504])
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def url(self, path: str) -> str:
        """An API URL: `path` is relative to `.../api/1.0`, or absolute."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + path

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A request, with connection failures turned into a `ClientError`."""
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.ConnectionError as error:
            raise ConnectionFailed(
                f"cannot connect to {url}: {_reason(error)}"
            ) from None
        except requests.Timeout as error:
            raise ConnectionFailed(f"no answer from {url}: {_reason(error)}") from None
        except requests.RequestException as error:
            raise ClientError(f"request to {url} failed: {_reason(error)}") from None

    @staticmethod
    def check(response: requests.Response, expected: tuple[int, ...] = (200,)) -> None:
        """Raise `ServerError` unless `response` has one of `expected` statuses."""
        # As upstream: the problem check comes before the status check.
        if response.headers.get("Content-Type") == PROBLEM_CONTENT_TYPE:
            raise problem_message(response)
        if response.status_code in expected:
            return
        request = response.request
        what = f"{request.method} {request.url}"
        status = response.status_code
        if status == 404:
            message = f"not found: {what} answered HTTP 404"
        elif status == 403:
            message = f"forbidden: {what} answered HTTP 403"
        else:
            message = f"unexpected answer to {what}: HTTP {status} {response.reason}"
        raise ServerError(message, status, {})

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        expected: tuple[int, ...] = (200,),
    ) -> Any:
        """One API call; the parsed JSON body (None if empty)."""
        url = self.url(path)
        response = self.send(
            method,
            url,
            json=json,
            params=params,
            headers={"X-Debusine-Scope": self.server.scope},
        )
        self.check(response, expected)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"the server's answer to {method} {response.url} is not JSON"
            ) from None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.call("POST", path, json=body, **kwargs)

    def paginated(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[Any]:
        """Every result of a cursor-paginated list, following `next`."""
        url: str | None = self.url(path)
        while url is not None:
            page = self.call("GET", url, params=params)
            params = None  # `next` carries the query already
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise ClientError(f"the server's answer to GET {url} is not a page")
            yield from page["results"]
            url = page.get("next")
