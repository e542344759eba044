"""Consuming a batch: what runs inside ``lambda_handler``, in order.

- :mod:`.consumer`: the invocation (ports, direct events, the last-resort guard);
- :mod:`.batch`: one batch's pipeline: prepare, run, settle, the response (FIFO rules included);
- :mod:`.dispatch`: a record becomes a :class:`~sqs_lambda.call.Call` (decoded, verified, routed, validated);
- :mod:`.invoke`: the one place a job runs (sync, async, idempotent);
- :mod:`.cutoff`: the time cut-off; :mod:`.policy` and :mod:`.backoff`: the failure policy as values;
- :mod:`.effects` and :mod:`.failure`: fates carried out on SQS (DLQ copy with its reason, delay hop,
  backoff); :mod:`.idempotency`: effectively-once jobs;
- :mod:`.delivery`: a batch delivered the way Lambda's SQS trigger does (worker mode, the local trigger
  and the test kit use it).
"""
