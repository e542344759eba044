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
