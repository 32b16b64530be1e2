# The ingress: the deployment that receives a request (HTTP, or a call
# through a Ray Serve handle), checks its inputs against the chain's and
# starts the chain: each stage is called with the response of the one
# before, so the values of a cut go from one stage's replica to the next
# through Ray's object store, not through the ingress. If a replica is
# lost, the chain is run again (a run has no side effects) until the
# request's time is up; every request ends with outputs or one clear error
# line, never a hang.
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence

import numpy as np
from ray import serve

from .._ort import InputSpec
from .failures import StageFailed, one_line
from .loopback import keep_replica_grpc_on_node_address
from .wire import BadRequest, answer_format, check_request, decode_request, encode_response

Values = dict[str, np.ndarray]


@serve.deployment
class Ingress:
    def __init__(
        self,
        description: dict,
        inputs: Sequence[InputSpec],
        stages: Sequence,
        timeout_s: float,
        attempts: int,
        max_request_bytes: int,
    ) -> None:
        keep_replica_grpc_on_node_address()
        self._description = description
        self._outputs = [spec["name"] for spec in description["outputs"]]
        self._inputs = list(inputs)
        self._stages = list(stages)
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._max_request_bytes = max_request_bytes

    # ------------------------------------------------------------ entry points

    async def __call__(self, request):
        """HTTP: POST inputs (.npz, .npy or JSON) for outputs in the same
        format; GET for the description of the chain. Only at the chain's
        route itself: Ray Serve passes on every path under it."""
        from starlette.responses import JSONResponse, PlainTextResponse, Response

        route = request.scope.get("root_path", "")
        if request.scope["path"][len(route) :] not in ("", "/"):
            return PlainTextResponse(f"nothing here: the chain is at {route or '/'}\n", status_code=404)
        if request.method == "GET":
            return JSONResponse(self._description)
        if request.method != "POST":
            return PlainTextResponse(
                "POST the inputs (.npz, .npy or JSON); GET describes the chain\n",
                status_code=405,
                headers={"Allow": "GET, POST"},
            )
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_request_bytes:
            return PlainTextResponse(
                f"the request has {declared} bytes, more than the limit of {self._max_request_bytes}\n",
                status_code=413,
            )
        start = time.perf_counter()
        try:
            body = await request.body()
            feeds, kind = decode_request(
                body, request.headers.get("content-type"), self._inputs, self._max_request_bytes
            )
            kind = answer_format(kind, self._outputs)
            read = time.perf_counter()
            outputs, timing = await self._run(feeds)
            ran = time.perf_counter()
            content, media_type = encode_response(outputs, kind)
        except BadRequest as error:
            return PlainTextResponse(one_line(error) + "\n", status_code=error.status)
        except StageFailed as error:
            return PlainTextResponse(one_line(error) + "\n", status_code=error.status)
        except Exception as error:
            return PlainTextResponse(
                f"internal error: {type(error).__name__}: {one_line(error)}\n", status_code=500
            )
        timing.update(
            read_s=read - start,
            chain_s=ran - read,
            write_s=time.perf_counter() - ran,
            server_s=time.perf_counter() - start,
            request_bytes=len(body),
        )
        return Response(content, media_type=media_type, headers={"X-Modelcut-Timing": json.dumps(timing)})

    async def run(self, feeds: Values) -> Values:
        """Through a handle: the chain's outputs for `feeds` (a dict of
        numpy arrays by input name). Raises BadRequest or StageFailed."""
        check_request(feeds, self._inputs)
        outputs, _ = await self._run(dict(feeds))
        return outputs

    async def run_timed(self, feeds: Values) -> tuple[Values, dict]:
        """run(), with the seconds each stage's run took and how many
        requests it served (stages_s, stages_batch), and how often the chain
        was run again after losing a replica (retries)."""
        check_request(feeds, self._inputs)
        return await self._run(dict(feeds))

    def describe(self) -> dict:
        return self._description

    # ----------------------------------------------------------------- chain

    async def _run(self, feeds: Values) -> tuple[Values, dict]:
        import ray.exceptions
        from ray.serve.exceptions import RayServeException

        # A lost replica shows as a Ray error, or as Serve's own when the
        # replica of an earlier stage died while a later one waited for it.
        lost = (ray.exceptions.RayError, RayServeException, ConnectionError)

        deadline = time.monotonic() + self._timeout_s
        attempt = 0
        while True:
            attempt += 1
            response = (feeds, {"stages_s": [], "stages_batch": []})
            for stage in self._stages:
                response = stage.run.remote(response)  # resolved in the next stage's replica
            remaining = deadline - time.monotonic()
            try:
                outputs, timing = await asyncio.wait_for(_result(response), max(remaining, 0.001))
                return outputs, {**timing, "retries": attempt - 1}
            except asyncio.TimeoutError:
                response.cancel()
                raise StageFailed(504, f"the chain did not answer within {self._timeout_s:g} s") from None
            except ray.exceptions.RayTaskError as error:  # a stage failed: running again won't help
                cause = error.cause if error.cause is not None else error
                if isinstance(cause, StageFailed):
                    raise StageFailed(cause.status, str(cause)) from None
                raise StageFailed(500, f"{type(cause).__name__}: {one_line(cause)}") from None
            except lost as error:  # a replica lost: run again
                if attempt >= self._attempts or time.monotonic() >= deadline:
                    raise StageFailed(
                        503,
                        f"the chain is unavailable after {attempt} attempts "
                        f"({type(error).__name__}: {one_line(error)})",
                    ) from None
                await asyncio.sleep(min(0.2 * 2 ** (attempt - 1), max(0.0, deadline - time.monotonic())))


async def _result(response):
    return await response
