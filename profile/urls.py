from profile import api, views

from django.urls import path

urlpatterns = [
    path("", views.home, name="home"),
    path("api/watching", api.api_watching, name="api-watching"),
    path("healthz", api.healthz, name="healthz"),
]
