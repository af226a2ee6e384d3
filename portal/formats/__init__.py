"""Our date formats per language, read before Django's own (settings.FORMAT_MODULE_PATH).

Times in the portal are UTC and say so; these only decide how a date and time read. Anything not
set here (number separators, input formats, ...) comes from Django's locale for that language.
"""
