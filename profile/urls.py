from profile import api, card

from django.urls import path

urlpatterns = [
    path("api/watching", api.api_watching, name="api-watching"),
    path("api/watching.svg", card.watching_svg, name="api-watching-svg"),
    path("healthz", api.healthz, name="healthz"),
]
