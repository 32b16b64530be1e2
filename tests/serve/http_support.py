# A bounded HTTP client for the serving tests: every request has a timeout
# and talks to 127.0.0.1 only.
import urllib.error
import urllib.request

TIMEOUT_S = 60


def request(
    url: str, body: bytes | None = None, content_type: str = "application/x-npz", method: str | None = None
) -> tuple[int, dict, bytes]:
    assert url.startswith("http://127.0.0.1:"), url
    headers = {"Content-Type": content_type} if body is not None else {}
    prepared = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(prepared, timeout=TIMEOUT_S) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read()


def _lower(headers) -> dict:
    """Header names in lower case, as HTTP treats them."""
    return {name.lower(): value for name, value in headers.items()}
