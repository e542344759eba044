"""The example project's settings: its tasks go to the template's queue, their results to its table."""

import os

import django

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "an-example-only-key")
DEBUG = False
ALLOWED_HOSTS = ["*"]  # API Gateway (or sqs-lambda local) is in front
ROOT_URLCONF = "signups_site.urls"
BACKPORT = ["django_tasks"] if django.VERSION < (6, 0) else []  # Django 6 has django.tasks built in
INSTALLED_APPS = [*BACKPORT, "sqs_lambda.contrib.django", "signups"]
# The example keeps nothing in its database (task results are in DynamoDB); views use transactions.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/signups.sqlite3"}}
USE_TZ = True
TASKS = {
    "default": {
        "BACKEND": "sqs_lambda.contrib.django.tasks.SQSLambdaBackend",
        "QUEUES": ["default"],
        "OPTIONS": {
            "queues": {"default": os.environ.get("TASKS_QUEUE_URL", "tasks")},  # the template sets the URL
            "results": "dynamodb",  # the table named by SQS_LAMBDA_TASK_RESULTS_TABLE
            "max_retries": 2,
        },
    }
}
