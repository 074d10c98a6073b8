from django.apps import AppConfig


class ProfileConfig(AppConfig):
    name = "profile"
    verbose_name = "Trakt profile"

    def ready(self):
        from profile import auth
        from profile.client import trakt

        # Trakt's latest rate-limit headroom, kept for `manage.py trakt_status`.
        trakt.rate_limit_seen.connect(auth.remember_rate_limit, dispatch_uid="remember-rate-limit")
