"""The wire format: what a message body is, and nothing else parses one.

- :mod:`.envelope`: our envelope (encode, decode, the delay hop's rewrite), with :mod:`.codec`'s JSON rules;
- :mod:`.signing`: signed envelopes (HMAC over the encoded envelope);
- :mod:`.payloads`: S3 pointers in AWS's extended-client format, for bodies over SQS's size limit;
- :mod:`.records`: the SQS record's own fields (receive count, attributes, FIFO group);
- :mod:`.peers`: the formats of sqs-workers, Celery and django-eb-sqs producers (opt-in per router).
"""
