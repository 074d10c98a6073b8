from django.apps import AppConfig

from profile import demo_library
from profile.client import http, trakt


class ProfileConfig(AppConfig):
    name = "profile"
    verbose_name = "Trakt profile"

    def ready(self):
        # Imported here, as Django asks of anything that reads models: not before the app
        # registry is ready.
        from profile.live import push
        from profile.pages.views import live_body
        from profile.signin.rate_limit import remember_rate_limit

        # DEMO_MODE answers with the built-in data (its library, then the rest of it), at the
        # client's one way out.
        http.answer_demo_with(demo_library.reply)
        # Trakt's latest rate-limit headroom, kept for `manage.py trakt_status`.
        trakt.rate_limit_seen.connect(remember_rate_limit, dispatch_uid="remember-rate-limit")
        # What changes is pushed to open pages as /live renders it.
        push.render_with(live_body)
