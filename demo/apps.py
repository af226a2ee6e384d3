from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo partner (manage.py seed_demo): the top of the apps, it uses all of them and none uses it."""

    name = "demo"
