"""What a stateless tier leans on, and the systems that are stateful on purpose.

* Chapter 04's places for state, each a real server or file: ``identity.py`` (a token issuer apart
  from the API), ``object_store.py`` (files behind an S3-like interface), ``job_queue.py`` (jobs a
  worker can die in the middle of), ``catalog.py`` (a cache in front of a database). ``service.py``
  is their shared lifecycle.
* Chapter 07's stateful systems: ``durability.py`` (a database that survives its process),
  ``broker.py`` (partitions and committed offsets), ``streams.py`` (windows and checkpoints),
  ``replication.py`` (a primary, a lagging replica, failover), ``recovery_log.py`` (state on
  disk, replayed on every start), ``leases.py`` (leader leases and fencing tokens), ``json_client.py`` (how the
  experiments talk to these servers).
* Chapter 10's real broker: ``redis_streams.py`` (Redis Streams consumer groups: pending messages, claims).
"""

from .broker import (
                       Broker,
                       Consumer,
                       ConsumerRun,
                       DeliveryResult,
                       Message,
                       delivery_experiment,
                       partition_for,
)
from .catalog import PRODUCTS, Catalog
from .durability import (
                       KILLED_RETURNCODE, SYNCHRONOUS,
                       WRITER_PROGRAM,
                       CrashResult,
                       WriterProcess,
                       commit_latency,
                       crash_writer_experiment,
                       expected_rows,
                       open_with_synchronous,
)
from .identity import (
                       DEMO_USERS,
                       IdentityProvider,
                       ProfileAPI,
                       PublicKeyVerifier,
                       call_api,
                       get_token,
                       start_api_instance,
)
from .job_queue import JobQueue, Worker
from .json_client import JsonClient
from .leases import Lease, LeaseStore, SharedResource, Write
from .object_store import Bucket, ObjectStore
from .recovery_log import DatabaseBackedNode, DiskLog, LogBackedNode, Recovery
from .redis_streams import (
                       STREAM_CONCEPTS,
                       CountingSink,
                       IdempotentSink,
                       StreamConsumer,
                       StreamRun,
                       consumer_group_experiment,
                       stream_concepts,
)
from .replication import Node, ReplicaSet
from .service import Service
from .streams import (
                       CheckpointStore,
                       Event,
                       SessionWindows,
                       SlidingWindows,
                       StreamProcessor,
                       TumblingWindows,
                       Window,
                       WindowResult,
                       generate_events,
                       make_windows,
                       window_experiment,
)

__all__ = [
    "Service", "IdentityProvider", "PublicKeyVerifier", "ProfileAPI", "start_api_instance", "get_token", "call_api",
    "DEMO_USERS", "ObjectStore", "Bucket", "JobQueue", "Worker", "Catalog", "PRODUCTS",
    "WriterProcess", "CrashResult", "crash_writer_experiment", "expected_rows", "WRITER_PROGRAM",
    "KILLED_RETURNCODE", "SYNCHRONOUS", "open_with_synchronous", "commit_latency",
    "Broker", "Consumer", "ConsumerRun", "DeliveryResult", "Message", "delivery_experiment", "partition_for",
    "StreamProcessor", "CheckpointStore", "Event", "Window", "TumblingWindows", "SlidingWindows", "SessionWindows",
    "WindowResult", "make_windows", "generate_events", "window_experiment",
    "JsonClient", "Node", "ReplicaSet", "DiskLog", "Recovery", "LogBackedNode", "DatabaseBackedNode",
    "Lease", "LeaseStore", "SharedResource", "Write",
    "StreamConsumer", "CountingSink", "IdempotentSink", "StreamRun", "consumer_group_experiment", "STREAM_CONCEPTS",
    "stream_concepts",
]
