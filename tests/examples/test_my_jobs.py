# tests/test_my_jobs.py
from sqs_lambda import Producer, Reject, Router
from sqs_lambda_testing import InMemoryQueue, drain, lambda_context, sqs_event

router = Router()
sent_emails = []


@router.job()
def signup(email: str) -> None:
    if "@" not in email:
        raise Reject("not an email address")
    welcome.delay(email=email)  # jobs may enqueue jobs


@router.job()
def welcome(email: str) -> None:
    sent_emails.append(email)


def test_signup_sends_a_welcome_email() -> None:
    queue = InMemoryQueue()
    router.bind(Producer(queue.url, backend=queue, router=router))
    signup.delay(email="ada@example.com")
    signup.delay(email="nope")
    result = drain(router, queue)
    assert sent_emails == ["ada@example.com"]
    assert result.dead_lettered == 1 and queue.dead_letters[0].job == "signup"


def test_a_lambda_event() -> None:
    response = router.lambda_handler(sqs_event(("welcome", {"email": "x@example.com"})), lambda_context())
    assert response == {"batchItemFailures": []}


def test_a_poison_record_goes_to_the_dlq_with_no_aws() -> None:
    context = lambda_context()  # carries an InMemoryQueue: the DLQ copy lands there
    response = router.lambda_handler(sqs_event(("signup", {"email": "nope"})), context)
    assert response == {"batchItemFailures": []}  # copied to the DLQ, so Lambda deletes it
    (dead_letter,) = context.sqs_backend.sends
    assert dead_letter["attributes"]["failure.error_message"]["StringValue"] == "not an email address"
