from profile import views

from django.urls import path

urlpatterns = [
    path("api/watching", views.api_watching, name="api-watching"),
    path("healthz", views.healthz, name="healthz"),
]
