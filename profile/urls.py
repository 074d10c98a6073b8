from profile import api

from django.urls import path

urlpatterns = [
    path("api/watching", api.api_watching, name="api-watching"),
    path("healthz", api.healthz, name="healthz"),
]
