"""The embedded SQS/S3 engine: :mod:`.moto_server` starts moto's server on 127.0.0.1 in a process of its
own; :mod:`.moto_speedups` is that process, with fixes to moto's hot paths on verified versions only."""
