from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations and users"

    def ready(self):
        from accounts import lockout  # noqa: F401 (connects the lockout's audit receiver)
