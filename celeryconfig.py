"""Static Celery options, for the worker and for the API's send-only app alike. The broker URL
and key prefix come from core.config at start-up (core.tasks.broker_options), so this module
reads no environment."""

from kombu import Queue

from core.tasks import COMMANDS, CONTROL_QUEUE, HEALTH_QUEUE, HEALTH_TASK_PREFIX, QUEUES

# JSON only: nothing a client sends is ever unpickled.
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]

# A task is acknowledged after it ran, and given back if its worker dies mid-task. Commands
# are idempotent by command id, so running one twice is harmless.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1

# Mutations are short and I/O-bound (a few Redis round trips), so one process with threads
# beats prefork: no pipe hop per task, and the GIL is released while waiting on Redis.
worker_pool = "threads"
worker_concurrency = 8

task_default_queue = CONTROL_QUEUE
# `health` carries the periodic checks celery beat sends, apart from the operator's commands.
task_queues = tuple(Queue(name) for name in QUEUES)
task_routes = {
    **{name: {"queue": CONTROL_QUEUE} for name in COMMANDS},
    f"{HEALTH_TASK_PREFIX}*": {"queue": HEALTH_QUEUE},
}

# Outcomes travel through the store's reply lists, not a result backend.
task_ignore_result = True

# The API publishes while a client waits: fail fast (it answers 503) rather than retry long.
task_publish_retry = True
task_publish_retry_policy = {
    "max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2,
}

# The worker itself keeps retrying a lost broker forever: Redis restarts must not kill it.
broker_connection_retry_on_startup = True
broker_connection_max_retries = None

worker_hijack_root_logger = True
# Task events cost a Redis publish per task; Flower turns them on at run time when it watches.
worker_send_task_events = False
task_send_sent_event = False

# The beat schedule is built from HEALTH_CHECK_INTERVAL (workers.create_celery_app); only the
# holder of the beat lease sends it, however many beat processes run.
beat_scheduler = "workers.beat:SingleBeatScheduler"
