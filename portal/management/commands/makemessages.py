from django.core.management.commands import makemessages

# Not the product: their strings are never shown to an agent.
NOT_THE_PRODUCT = ["tests/*", "bench/*", "staticfiles/*", "locale/*"]


class Command(makemessages.Command):
    """Django's makemessages with the project's defaults, so that `make messages` and the
    missing-translation test extract exactly the same strings: the test and benchmark code are
    skipped, and each entry names its file but not its line, which keeps catalogue diffs small."""

    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options.get("ignore_patterns", []), *NOT_THE_PRODUCT]
        if options.get("add_location") is None:
            options["add_location"] = "file"
        return super().handle(*args, **options)
