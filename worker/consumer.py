"""The worker's message consumer: no message, however malformed, stops the worker.

Celery's consumer runs each task message through a strategy in the main process. Here every
strategy first checks the message (worker.envelope) and clamps its time limits to the
deployment's; a message that fails is rejected without requeue and recorded in
rejected_messages through the spool. Tasks outside bnbench's own (Celery's built-in
celery.* tasks included) are refused as unknown. Anything else that would escape the
handler is caught as a last resort, refused and recorded the same way; only broker
connection errors go on to Celery, which reconnects.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.exceptions import InvalidTaskError
from celery.worker.consumer import Consumer

from core.store.rejections import Rejection
from worker.envelope import EnvelopeError, check_body, check_headers, clamped_time_limits
from worker.envelope import recover_job_id as _recover
from worker.settings import Settings
from worker.spool import Spool, spool_dir

log = logging.getLogger("bnbench.worker")
MAX_MESSAGE_BYTES = 1 << 20  # a real message is a few KB

_spools: dict[str, Spool] = {}


def spool_for(worker: str) -> Spool:
    if worker not in _spools:
        _spools[worker] = Spool(spool_dir(worker))
    return _spools[worker]


def served_tasks(app) -> set[str]:
    """bnbench.run and the task modules this deployment added; never Celery's built-ins."""
    return {name for name in app.tasks if not name.startswith("celery.")}


def _body_of(message: Any) -> Any:
    try:
        return message.body
    except Exception:
        return None


def _decoded(message: Any) -> Any:
    try:
        return message.payload
    except Exception:
        return _body_of(message)


class StrictConsumer(Consumer):
    def update_strategies(self) -> None:
        super().update_strategies()
        settings = Settings.from_env()
        served = served_tasks(self.app)
        for name in list(self.strategies):
            if name not in served:
                del self.strategies[name]  # refused below as an unknown task
            else:
                self.strategies[name] = self._checked(self.strategies[name], settings)

    def _checked(self, strategy, settings: Settings):
        soft_max, hard_max = settings.job_time_limit_s, settings.hard_time_limit_s

        def on_message(message, body, ack, reject, callbacks, **kw):
            try:
                if len(_body_of(message) or b"") > MAX_MESSAGE_BYTES:
                    raise EnvelopeError(
                        f"body is over {MAX_MESSAGE_BYTES} bytes; a task message is a few KB"
                    )
                check_headers(message.headers)
                try:
                    decoded = message.payload
                except Exception as e:
                    raise EnvelopeError(
                        f"body could not be decoded as {message.content_type}: "
                        f"{type(e).__name__}: {e}; send JSON, the only accepted content type"
                    ) from None
                check_body(decoded)
            except EnvelopeError as e:
                raise InvalidTaskError(str(e)) from None
            message.headers["timelimit"] = clamped_time_limits(
                message.headers.get("timelimit"), soft_max, hard_max
            )
            return strategy(message, body, ack, reject, callbacks, **kw)

        return on_message

    def create_task_handler(self, *args, **kwargs):
        handle = super().create_task_handler(*args, **kwargs)
        recoverable = tuple(self.connection_errors) + tuple(self.channel_errors)

        def on_task_received(message):
            try:
                return handle(message)
            except recoverable:
                raise
            except Exception as e:  # last resort: refuse it, record it, keep serving
                log.error("message refused after an unexpected error", exc_info=True)
                self._refuse(message, f"could not be handled: {type(e).__name__}: {e}")

        return on_task_received

    # Celery's handlers of what it cannot run; each also records the message.

    def on_invalid_task(self, body, message, exc):
        self._refuse(message, str(exc))

    def on_unknown_task(self, body, message, exc):
        name = message.headers.get("task") if isinstance(message.headers, dict) else None
        self._refuse(
            message,
            f"task {name!r:.100} is not served here; bnbench workers run bnbench.run only",
        )

    def on_unknown_message(self, body, message):
        self._refuse(message, "not a task message: it has no task header; send with send_task")

    def on_decode_error(self, message, exc):
        self._refuse(message, f"body could not be decoded: {type(exc).__name__}: {exc}")

    def _refuse(self, message, reason: str) -> None:
        queue = (getattr(message, "delivery_info", None) or {}).get("routing_key")
        body = _decoded(message)
        record = Rejection.of(
            reason,
            getattr(message, "headers", None),
            body if body is not None else _body_of(message),
            queue=queue,
            worker=self.hostname,
            job_id=_recover(body),
        )
        log.warning("message on %s refused and recorded: %s", queue, reason)
        try:
            if not message.acknowledged:
                message.reject(requeue=False)
        except Exception:
            log.warning("could not reject the message", exc_info=True)
        try:
            spool_for(self.hostname).append("rejection", record.to_dict())
        except OSError:
            log.error("could not spool the record of a refused message: %s", record.to_dict())
