from django.apps import AppConfig


class ProfileConfig(AppConfig):
    name = "profile"
    verbose_name = "Trakt profile"
