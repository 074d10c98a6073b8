from django.urls import include, path

urlpatterns = [
    path("", include("profile.urls")),
]

# Our own error answers (profile/errors.py): the site's look, JSON under /api/.
handler400 = "profile.errors.bad_request"
handler403 = "profile.errors.permission_denied"
handler404 = "profile.errors.page_not_found"
handler500 = "profile.errors.server_error"
