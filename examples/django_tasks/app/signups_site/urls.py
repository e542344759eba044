from django.urls import path
from signups import views

urlpatterns = [
    path("signups", views.sign_up),
    path("signups/<str:result_id>", views.signup_status),
]
